/*
 * The store as JSON (libc only). Every header value came from the network,
 * so the writer emits valid UTF-8 whatever the bytes: control characters,
 * quotes and backslashes are escaped, well-formed UTF-8 passes through, and
 * each byte of a malformed sequence (overlong, surrogate, past U+10FFFF,
 * truncated) becomes U+FFFD. Values are written with their stored length,
 * so an embedded NUL is escaped, never a silent cut.
 */
#include "state_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct jbuf {
    char *p;
    size_t len, cap;
    int err;
} jbuf;

static void put(jbuf *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (n > b->cap - b->len - 1 || !b->p) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len - 1 < n) {
            if (cap > SIZE_MAX / 2) {
                b->err = AMI_ERR_NOMEM;
                return;
            }
            cap *= 2;
        }
        /* Plain realloc: the caller frees the result with free(). */
        char *np = ami__realloc(b->p, cap);
        if (!np) {
            b->err = AMI_ERR_NOMEM;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(jbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static void str(jbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put(b, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            i++;
            run++;
            continue;
        }
        put(b, s + i - run, run);
        run = 0;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(b, e, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            if (c == '\n')
                put(b, "\\n", 2);
            else if (c == '\r')
                put(b, "\\r", 2);
            else if (c == '\t')
                put(b, "\\t", 2);
            else
                put(b, e, 6);
            i++;
        } else {
            size_t l = utf8_len(u + i, n - i);
            if (l) {
                put(b, s + i, l);
                i += l;
            } else {
                put(b, "\\ufffd", 6);
                i++;
            }
        }
    }
    put(b, s + i - run, run);
    put(b, "\"", 1);
}

static void headers(jbuf *b, const ami_state_object *o)
{
    const st_blob *bl = o->blob;
    const char *d = st_blob_data(bl);
    for (uint32_t i = 0; i < bl->n; i++) {
        if (i)
            put(b, ",", 1);
        str(b, d + bl->h[i].koff, bl->h[i].klen);
        put(b, ":", 1);
        str(b, d + bl->h[i].voff, bl->h[i].vlen);
    }
}

static void object(jbuf *b, const ami_state_object *o)
{
    put(b, "{", 1);
    headers(b, o);
    const char *sep = o->blob->n ? "," : "";
    if (o->kind == AMI_STATE_BRIDGE) {
        puts_(b, sep);
        puts_(b, "\"Channels\":[");
        for (const ami_state_object *c = o->first[0]; c; c = c->snext) {
            size_t vl = 0;
            const char *v = ami__st_value(c, "Channel", &vl);
            if (c != o->first[0])
                put(b, ",", 1);
            str(b, v ? v : "", v ? vl : 0);
        }
        put(b, "]", 1);
    } else if (o->kind == AMI_STATE_QUEUE) {
        static const char *const names[2] = {"\"members\":[", "\"callers\":["};
        for (int slot = 0; slot < 2; slot++) {
            puts_(b, slot ? "," : sep);
            puts_(b, names[slot]);
            for (const ami_state_object *c = o->first[slot]; c; c = c->snext) {
                if (c != o->first[slot])
                    put(b, ",", 1);
                put(b, "{", 1);
                headers(b, c);
                put(b, "}", 1);
            }
            put(b, "]", 1);
        }
    }
    put(b, "}", 1);
}

static int finish(jbuf *b, char **out, size_t *len)
{
    if (b->err) {
        ami__free(b->p);
        return b->err;
    }
    *out = b->p;
    if (len)
        *len = b->len;
    return AMI_OK;
}

int ami_state_to_json(const ami_state *st, char **out, size_t *len)
{
    if (!st || !out)
        return AMI_ERR_INVALID;
    *out = NULL;
    static const struct {
        const char *name;
        ami_state_kind kind;
    } groups[] = {{"channels", AMI_STATE_CHANNEL},
                  {"bridges", AMI_STATE_BRIDGE},
                  {"queues", AMI_STATE_QUEUE},
                  {"parked", AMI_STATE_PARKED},
                  {"devices", AMI_STATE_DEVICE}};
    jbuf b = {0};
    put(&b, "{", 1);
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        if (g)
            put(&b, ",", 1);
        put(&b, "\"", 1);
        puts_(&b, groups[g].name);
        puts_(&b, "\":[");
        for (const ami_state_object *o = st->head[groups[g].kind]; o; o = o->next) {
            if (o != st->head[groups[g].kind])
                put(&b, ",", 1);
            object(&b, o);
        }
        put(&b, "]", 1);
    }
    put(&b, "}", 1);
    return finish(&b, out, len);
}

int ami_state_object_to_json(const ami_state_object *o, char **out, size_t *len)
{
    if (!o || !out)
        return AMI_ERR_INVALID;
    *out = NULL;
    jbuf b = {0};
    object(&b, o);
    return finish(&b, out, len);
}
