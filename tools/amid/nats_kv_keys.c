/* The keys of the state bucket: one per object of a server's live state,
 *
 *   <server>.channel.<Uniqueid>          <server>.queue.<Queue>
 *   <server>.bridge.<BridgeUniqueid>     <server>.queue.<Queue>.member.<Interface>
 *   <server>.device.<Device>             <server>.queue.<Queue>.caller.<Uniqueid>
 *   <server>.parked.<Parkinglot>.<ParkingSpace>
 *
 * Each id part is one key token, escaped by a reversible rule: the bytes
 * A-Z a-z 0-9 - _ / stay, every other byte (the '.' of a Uniqueid, '=',
 * '@', spaces, UTF-8) becomes =XX in upper-case hex, and the empty string
 * is a lone '='. So `1700000000.12` is `1700000000=2E12` and
 * `Local/200@test` is `Local/200=40test`; a consumer splits a key at '.'
 * and unescapes each token (docs/nats.md).
 *
 * A member's, caller's or parked call's id is two parts joined by '/'
 * (`support/Local/200@test`). The split comes from the object's own
 * header (Queue, Parkinglot) when the id starts with it, otherwise at the
 * first '/'; decoding joins the parts again, so key -> id is exact and
 * the writer can check that a key is the object's own (amid_kv_key_object
 * then amid_kv_object_key gives the same key back). */
#include "nats_kv.h"

#include <string.h>

typedef struct keybuf {
    char *p;
    size_t cap, len;
    int err;
} keybuf;

static void lit(keybuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->err = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static int plain(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '/';
}

static void token(keybuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!n) {
        lit(b, "=");
        return;
    }
    for (size_t i = 0; i < n && !b->err; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[4] = {(char)c, 0, 0, 0};
        if (!plain(c)) {
            e[0] = '=';
            e[1] = hex[c >> 4];
            e[2] = hex[c & 15];
        }
        lit(b, e);
    }
}

/* Where a two-part id splits: after `first` when the id starts with it
 * and a '/', else at the first '/'; -1 when it has none. */
static long split_at(const char *id, const char *first)
{
    size_t n = first ? strlen(first) : 0;
    if (first && !strncmp(id, first, n) && id[n] == '/')
        return (long)n;
    const char *sl = strchr(id, '/');
    return sl ? (long)(sl - id) : -1;
}

int amid_kv_object_key(const char *server, ami_state_kind kind, const ami_state_object *o,
                       char *key, size_t cap)
{
    static const char *const single[AMI_STATE_KIND_COUNT] = {[AMI_STATE_CHANNEL] = ".channel.",
                                                             [AMI_STATE_BRIDGE] = ".bridge.",
                                                             [AMI_STATE_QUEUE] = ".queue.",
                                                             [AMI_STATE_DEVICE] = ".device."};
    const char *id = ami_state_object_id(o);
    keybuf b = {.p = key, .cap = cap};
    if (!id || !cap || (unsigned)kind >= AMI_STATE_KIND_COUNT)
        return -1;
    key[0] = '\0';
    lit(&b, server);
    if (single[kind]) {
        lit(&b, single[kind]);
        token(&b, id, strlen(id));
        return b.err ? -1 : 0;
    }
    long at =
        split_at(id, ami_state_object_get(o, kind == AMI_STATE_PARKED ? "Parkinglot" : "Queue"));
    if (at < 0)
        return -1;
    lit(&b, kind == AMI_STATE_PARKED ? ".parked." : ".queue.");
    token(&b, id, (size_t)at);
    lit(&b, kind == AMI_STATE_MEMBER ? ".member." : kind == AMI_STATE_CALLER ? ".caller." : ".");
    token(&b, id + at + 1, strlen(id + at + 1));
    return b.err ? -1 : 0;
}

static int unhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Unescapes the token [s, s+n) onto out at *len; -1 when malformed (or
 * it would hold a NUL, which no id has). */
static int untoken(const char *s, size_t n, char *out, size_t cap, size_t *len)
{
    if (n == 1 && s[0] == '=')
        return 0; /* the empty string */
    if (!n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=') {
            int h = i + 2 < n ? unhex(s[i + 1]) : -1, l = i + 2 < n ? unhex(s[i + 2]) : -1;
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return -1;
            c = (unsigned char)(h << 4 | l);
            i += 2;
        } else if (!plain(c))
            return -1;
        if (*len + 2 > cap)
            return -1;
        out[(*len)++] = (char)c;
    }
    out[*len] = '\0';
    return 0;
}

int amid_kv_key_object(const char *server, const char *key, char *id, size_t cap)
{
    size_t sl = strlen(server);
    if (strncmp(key, server, sl) || key[sl] != '.' || cap < 2)
        return -1;
    const char *t[6];
    size_t tl[6], n = 0;
    for (const char *p = key + sl + 1;; n++) {
        const char *dot = strchr(p, '.');
        if (n == 5)
            return -1; /* more tokens than any of our forms */
        t[n] = p;
        tl[n] = dot ? (size_t)(dot - p) : strlen(p);
        if (!dot) {
            n++;
            break;
        }
        p = dot + 1;
    }
    size_t len = 0;
    id[0] = '\0';
#define IS(i, w) (tl[i] == sizeof(w) - 1 && !memcmp(t[i], w, sizeof(w) - 1))
    int kind = -1;
    if (n == 2)
        kind = IS(0, "channel")  ? AMI_STATE_CHANNEL
               : IS(0, "bridge") ? AMI_STATE_BRIDGE
               : IS(0, "queue")  ? AMI_STATE_QUEUE
               : IS(0, "device") ? AMI_STATE_DEVICE
                                 : -1;
    else if (n == 4 && IS(0, "queue"))
        kind = IS(2, "member") ? AMI_STATE_MEMBER : IS(2, "caller") ? AMI_STATE_CALLER : -1;
    else if (n == 3 && IS(0, "parked"))
        kind = AMI_STATE_PARKED;
#undef IS
    if (kind < 0 || untoken(t[1], tl[1], id, cap, &len) != 0)
        return -1;
    if (n == 2)
        return kind;
    if (len + 2 > cap)
        return -1;
    id[len++] = '/';
    id[len] = '\0';
    if (untoken(t[n - 1], tl[n - 1], id, cap, &len) != 0)
        return -1;
    return kind;
}
