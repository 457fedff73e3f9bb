/* nats_kv_dump: reads the live state amid keeps in a NATS key-value
 * bucket ([nats] kv_bucket, default ami_state), without talking to amid.
 *
 *   nats_kv_dump [-s URL] [--bucket ami_state] [--keys 'pbx1.>'] [--creds FILE]
 *   nats_kv_dump ... --deleted
 *   nats_kv_dump ... --watch
 *
 * Without --watch it prints the current state as one JSON object, key to
 * value, and exits:
 *
 *   {"pbx1.channel.1700000000=2E12":{"Channel":"Local/200@test-00000001;1",...},
 *    "pbx1.queue.support":{"Queue":"support","Strategy":"ringall",...},
 *    "pbx1.queue.support.member.Local/200=40test":{"Interface":"Local/200@test",...}}
 *
 * --deleted adds the keys whose latest entry is a delete marker, with the
 * value null (amid purges markers older than its kv_delete_markers).
 *
 * With --watch it prints one JSON line per key, the current ones first,
 * then {"op":"ready"}, then every change as it happens:
 *
 *   {"op":"put","key":"pbx1.channel.1700000000=2E12","server":"pbx1",
 *    "kind":"channel","id":"1700000000.12","revision":42,"value":{...}}
 *   {"op":"del","key":"...","server":"pbx1","kind":"channel","id":"1700000000.12",...}
 *
 * "kind" and "id" come from the key by amid's rule (docs/nats.md): split
 * the key at '.', unescape each token (=XX is the byte 0xXX, a lone '=' the
 * empty string); a member's, caller's or parked call's id is its two parts
 * joined by '/' ("support/Local/200@test"), as in amid's /v1/state. */
#include <jansson.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Unescapes one token onto out (bounded); -1 when malformed. */
static int untoken(const char *s, size_t n, char *out, size_t cap, size_t *len)
{
    if (n == 1 && s[0] == '=')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=') {
            if (i + 2 >= n || unhex(s[i + 1]) < 0 || unhex(s[i + 2]) < 0)
                return -1;
            c = (char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            i += 2;
        }
        if (*len + 1 >= cap)
            return -1;
        out[(*len)++] = c;
    }
    out[*len] = '\0';
    return 0;
}

/* Adds "server", "kind" and "id" for a key of amid's forms. */
static void decode_key(json_t *o, const char *key)
{
    const char *t[6];
    size_t tl[6], n = 0;
    for (const char *p = key; n < 6;) {
        const char *dot = strchr(p, '.');
        t[n] = p;
        tl[n++] = dot ? (size_t)(dot - p) : strlen(p);
        if (!dot)
            break;
        p = dot + 1;
    }
    if (n < 3)
        return;
    char kind[16], id[4096];
    size_t len = 0;
    int two = (n == 5 && tl[1] == 5 && !memcmp(t[1], "queue", 5)) ||
              (n == 4 && tl[1] == 6 && !memcmp(t[1], "parked", 6));
    if ((n != 3 && !two) || tl[1] >= sizeof kind)
        return;
    if (n == 5) {
        if (tl[3] >= sizeof kind)
            return;
        memcpy(kind, t[3], tl[3]); /* member, caller */
        kind[tl[3]] = '\0';
    } else {
        memcpy(kind, t[1], tl[1]);
        kind[tl[1]] = '\0';
    }
    if (untoken(t[2], tl[2], id, sizeof id, &len) != 0)
        return;
    if (two) {
        if (len + 2 >= sizeof id)
            return;
        id[len++] = '/';
        id[len] = '\0';
        if (untoken(t[n - 1], tl[n - 1], id, sizeof id, &len) != 0)
            return;
    }
    json_object_set_new(o, "server", json_stringn(t[0], tl[0]));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "id", json_stringn(id, len));
}

static json_t *value_of(kvEntry *e)
{
    const char *v = kvEntry_Value(e);
    int n = kvEntry_ValueLen(e);
    json_t *j = v && n > 0 ? json_loadb(v, (size_t)n, 0, NULL) : NULL;
    return j ? j : json_stringn(v ? v : "", v && n > 0 ? (size_t)n : 0);
}

static void print_line(json_t *o)
{
    char *txt = json_dumps(o, JSON_COMPACT);
    if (txt)
        puts(txt);
    free(txt);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *url = "nats://127.0.0.1:4222", *bucket = "ami_state", *keys = ">";
    const char *creds = NULL;
    int watch = 0, deleted = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--bucket") && i + 1 < argc)
            bucket = argv[++i];
        else if (!strcmp(argv[i], "--keys") && i + 1 < argc)
            keys = argv[++i];
        else if (!strcmp(argv[i], "--creds") && i + 1 < argc)
            creds = argv[++i];
        else if (!strcmp(argv[i], "--watch"))
            watch = 1;
        else if (!strcmp(argv[i], "--deleted"))
            deleted = 1;
        else {
            fprintf(stderr, "usage: nats_kv_dump [-s URL] [--bucket NAME] [--keys 'pbx1.>'] "
                            "[--creds FILE] [--deleted | --watch]\n");
            return 2;
        }
    }
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    kvStore *kv = NULL;
    kvWatcher *w = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK && creds)
        s = natsOptions_SetUserCredentialsFromFiles(opts, creds, NULL);
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, opts);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, NULL);
    if (s == NATS_OK)
        s = js_KeyValue(&kv, js, bucket);
    /* A watch gives each key's latest value (a consistent read of the
     * bucket as of its start), then a NULL entry, then the changes. */
    kvWatchOptions wo;
    kvWatchOptions_Init(&wo);
    wo.IgnoreDeletes = !watch && !deleted;
    if (s == NATS_OK)
        s = kvStore_Watch(&w, kv, keys, &wo);
    if (s != NATS_OK) {
        fprintf(stderr, "nats_kv_dump: %s (%s)\n", natsStatus_GetText(s), nats_GetLastError(NULL));
        return 1;
    }
    json_t *all = json_object();
    int rc = 0, ready = 0;
    for (;;) {
        kvEntry *e = NULL;
        s = kvWatcher_Next(&e, w, watch && ready ? 3600000 : 30000);
        if (s == NATS_TIMEOUT && watch && ready)
            continue;
        if (s != NATS_OK) {
            fprintf(stderr, "nats_kv_dump: %s (%s)\n", natsStatus_GetText(s),
                    nats_GetLastError(NULL));
            rc = 1;
            break;
        }
        if (!e) { /* the current values are all in */
            if (!watch)
                break;
            ready = 1;
            json_t *o = json_pack("{s:s}", "op", "ready");
            print_line(o);
            json_decref(o);
            continue;
        }
        const char *key = kvEntry_Key(e);
        if (!watch) {
            json_object_set_new(all, key,
                                kvEntry_Operation(e) == kvOp_Put ? value_of(e) : json_null());
        } else {
            int del = kvEntry_Operation(e) != kvOp_Put;
            json_t *o = json_pack("{s:s, s:s, s:I}", "op", del ? "del" : "put", "key", key,
                                  "revision", (json_int_t)kvEntry_Revision(e));
            decode_key(o, key);
            if (!del)
                json_object_set_new(o, "value", value_of(e));
            print_line(o);
            json_decref(o);
        }
        kvEntry_Destroy(e);
    }
    if (!watch && !rc) {
        char *txt = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
        if (txt)
            puts(txt);
        free(txt);
    }
    json_decref(all);
    kvWatcher_Destroy(w);
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    nats_Close();
    return rc;
}
