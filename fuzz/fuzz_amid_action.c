/*
 * amid's JSON-to-action translation and permission checks, fuzzed with
 * hostile JSON. Oracles, checked on the serialized bytes (what Asterisk
 * would read), independently of the code under test:
 *   - an accepted action is exactly one action: "Action: " first, one
 *     blank-line terminator at the very end, every line "Key: Value", no
 *     bare CR or LF;
 *   - when the restricted token below is allowed, the action's name is in
 *     its list and not a reserved one, an Originate has no Application
 *     line and exactly one Context line (from-crm), and every channel
 *     header matches the token's globs.
 */
#include "amid.h"

#include <fnmatch.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* -Wwrite-strings: the lists are writable arrays, as config.c makes them. */
static char a0[] = "Originate", a1[] = "Hangup", a2[] = "Ping", a3[] = "Redirect", a4[] = "Logoff";
static char c0[] = "from-crm", g0[] = "Local/*", g1[] = "PJSIP/1*", s0[] = "pbx1", tname[] = "fuzz";
static char *acts[] = {a0, a1, a2, a3, a4};
static char *ctxs[] = {c0};
static char *chans[] = {g0, g1};
static char *servers[] = {s0};

static int line_key_is(const char *line, size_t n, const char *key)
{
    size_t kl = strlen(key);
    return n > kl && line[kl] == ':' && strncasecmp(line, key, kl) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        return 0;
    ami_action *a;
    char why[512];
    int st = amid_action_from_json(j, &a, why, sizeof why);
    json_decref(j);
    if (st != 0) {
        if (st != 400 && st != 503)
            abort();
        return 0;
    }
    char *wire;
    size_t len;
    if (ami_action_serialize(a, NULL, &wire, &len) != 0) {
        ami_action_free(a);
        return 0;
    }
    if (len < 4 || strncmp(wire, "Action: ", 8) != 0 || memcmp(wire + len - 4, "\r\n\r\n", 4) != 0)
        abort();
    const char *end = wire + len - 2; /* before the final blank line */
    for (const char *p = wire; p < end;) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol || eol[1] != '\n' || eol == p || memchr(p, '\n', (size_t)(eol - p)) ||
            !memchr(p, ':', (size_t)(eol - p)))
            abort(); /* an empty line inside, a bare LF, a line without a colon */
        p = eol + 2;
    }

    amid_token t;
    memset(&t, 0, sizeof t);
    t.name = tname;
    t.servers = (amid_list){servers, 1, 0};
    t.actions = (amid_list){acts, 5, 0};
    t.contexts = (amid_list){ctxs, 1, 0};
    t.channels = (amid_list){chans, 2, 0};
    t.has_contexts = t.has_channels = 1;
    st = amid_perm_check(&t, (size & 1) ? "pbx1" : "pbx2", a, why, sizeof why);
    if (st == 0) {
        if (!(size & 1))
            abort(); /* pbx2 is not allowed */
        const char *name = ami_action_name(a);
        int listed = 0;
        for (size_t i = 0; i < 4; i++) /* Logoff is listed but reserved */
            listed |= strcasecmp(name, acts[i]) == 0;
        if (!listed)
            abort();
        int orig = strcasecmp(name, "Originate") == 0, contexts = 0;
        for (const char *p = wire; p < end;) {
            const char *eol = memchr(p, '\r', (size_t)(end - p));
            size_t n = (size_t)(eol - p);
            const char *colon = memchr(p, ':', n);
            char val[1100];
            size_t vo = (size_t)(colon + 1 - p);
            while (vo < n && p[vo] == ' ')
                vo++;
            snprintf(val, sizeof val, "%.*s", (int)(n - vo), p + vo);
            if (orig && line_key_is(p, n, "Application"))
                abort();
            if (orig && line_key_is(p, n, "Context")) {
                contexts++;
                if (strcasecmp(val, "from-crm") != 0)
                    abort();
            }
            static const char *const ck[] = {"Channel",    "ExtraChannel",    "Channel1",
                                             "Channel2",   "TransferChannel", "SrcChannel",
                                             "DestChannel"};
            for (size_t k = 0; k < sizeof ck / sizeof ck[0]; k++)
                if (line_key_is(p, n, ck[k]) && fnmatch("Local/*", val, 0) != 0 &&
                    fnmatch("PJSIP/1*", val, 0) != 0)
                    abort();
            p = eol + 2;
        }
        if (orig && contexts != 1)
            abort();
    } else if (st != 403 && st != 500) {
        abort();
    }
    free(wire);
    ami_action_free(a);
    return 0;
}
