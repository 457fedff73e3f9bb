/* Permission checks on the parsed action, never on raw JSON: what is
 * checked is exactly what libami would send. Each refusal names the rule
 * (the config key) that refused, for the 403 body. */
#include "amid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Actions that would change the shared connection for everyone (or end
 * it), refused whatever `actions` says. */
static const char *const reserved[] = {"Login",  "Logoff",    "Challenge", "Events",
                                       "Filter", "WaitEvent", NULL};

/* Headers that name a channel an action works on. */
static const char *const channel_keys[] = {
    "Channel",         "ExtraChannel", "Channel1",    "Channel2",
    "TransferChannel", "SrcChannel",   "DestChannel", NULL};

int amid_perm_server(const amid_token *t, const char *server)
{
    return amid_list_has(&t->servers, server);
}

/* Calls fn for every header of the action as libami would send it (the
 * serialized form), so a repeated key is seen as often as Asterisk sees
 * it. Returns fn's first non-zero result. */
typedef int (*header_fn)(const char *key, size_t klen, const char *val, size_t vlen, void *ctx);

static int each_header(const ami_action *a, header_fn fn, void *ctx)
{
    char *wire;
    size_t len;
    if (ami_action_serialize(a, NULL, &wire, &len) != 0)
        return -1;
    int r = 0;
    const char *p = wire, *end = wire + len;
    while (p < end && !r) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol || eol == p)
            break;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            const char *v = colon + 1;
            while (v < eol && *v == ' ')
                v++;
            r = fn(p, (size_t)(colon - p), v, (size_t)(eol - v), ctx);
        }
        p = eol + 2;
    }
    free(wire);
    return r;
}

static int key_is(const char *k, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(k, name, n) == 0;
}

typedef struct check_ctx {
    const amid_token *t;
    int originate;
    int contexts_seen;
    char *why;
    size_t whycap;
} check_ctx;

static int check_header(const char *k, size_t kl, const char *v, size_t vl, void *ctxp)
{
    check_ctx *c = ctxp;
    const amid_token *t = c->t;
    char val[1024];
    snprintf(val, sizeof val, "%.*s", (int)vl, v);
    if (c->originate && t->has_contexts && !t->contexts.all) {
        if (key_is(k, kl, "Application")) {
            snprintf(c->why, c->whycap,
                     "originate_context: token '%s' may originate only into a context, "
                     "never to an Application",
                     t->name);
            return 403;
        }
        if (key_is(k, kl, "Context")) {
            c->contexts_seen++;
            if (!amid_list_has(&t->contexts, val)) {
                snprintf(c->why, c->whycap,
                         "originate_context: token '%s' may not originate into '%.64s'", t->name,
                         val);
                return 403;
            }
        }
    }
    if (t->has_channels && !t->channels.all) {
        for (int i = 0; channel_keys[i]; i++) {
            if (!key_is(k, kl, channel_keys[i]))
                continue;
            /* Hangup's Channel: /regex/ could match anything. */
            if (val[0] == '/') {
                snprintf(c->why, c->whycap, "channels: token '%s' may not name channels by regex",
                         t->name);
                return 403;
            }
            if (!amid_list_glob(&t->channels, val)) {
                snprintf(c->why, c->whycap, "channels: token '%s' may not act on channel '%.80s'",
                         t->name, val);
                return 403;
            }
        }
    }
    return 0;
}

int amid_perm_check(const amid_token *t, const char *server, const ami_action *a, char *why,
                    size_t whycap)
{
    const char *name = ami_action_name(a);
    if (!amid_perm_server(t, server)) {
        snprintf(why, whycap, "servers: token '%s' may not use server '%s'", t->name, server);
        return 403;
    }
    for (int i = 0; reserved[i]; i++)
        if (strcasecmp(name, reserved[i]) == 0) {
            snprintf(why, whycap,
                     "reserved: %s would change amid's shared connection; never allowed",
                     reserved[i]);
            return 403;
        }
    if (!amid_list_has(&t->actions, name)) {
        snprintf(why, whycap, "actions: token '%s' may not send %.64s", t->name, name);
        return 403;
    }
    check_ctx c = {
        .t = t, .originate = strcasecmp(name, "Originate") == 0, .why = why, .whycap = whycap};
    int r = each_header(a, check_header, &c);
    if (r < 0) {
        snprintf(why, whycap, "internal: the action could not be serialized");
        return 500;
    }
    if (r)
        return r;
    if (c.originate && t->has_contexts && !t->contexts.all && c.contexts_seen != 1) {
        snprintf(why, whycap, "originate_context: token '%s' must name exactly one Context",
                 t->name);
        return 403;
    }
    return 0;
}

int amid_perm_event(const amid_token *t, const char *privilege)
{
    if (t->events.all)
        return 1;
    if (!privilege)
        return 0;
    const char *p = privilege;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        for (size_t i = 0; i < t->events.n; i++)
            if (strlen(t->events.v[i]) == n && strncasecmp(t->events.v[i], p, n) == 0)
                return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}
