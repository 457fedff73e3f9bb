/* The WebSocket message of one event, written straight into the shared
 * message buffer: {"server":…,"seq":…,"epoch":…,"event":{…}}. The same
 * JSON as amid_packet_json() (repeated keys become arrays in order, bytes
 * that are not UTF-8 become U+FFFD), without building a jansson object per
 * event: this is the hot path of every event amid receives. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends s[0..n) as a JSON string; returns the new end. The caller has
 * room for 6 bytes per input byte plus 2. */
static unsigned char *put_str(unsigned char *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = c;
            i++;
            continue;
        }
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = c;
            i++;
            continue;
        }
        if (c < 0x20 && c != 0) {
            memcpy(o, "\\u00", 4);
            o[4] = (unsigned char)hex[c >> 4];
            o[5] = (unsigned char)hex[c & 15];
            o += 6;
            i++;
            continue;
        }
        size_t len = c == 0 ? 0 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        int ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = ((unsigned char)s[i + k] >> 6) == 2;
        if (ok) {
            unsigned cp = c & (0xffu >> (len + 1));
            for (size_t k = 1; k < len; k++)
                cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
            ok = !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                   (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff));
        }
        if (ok) {
            memcpy(o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    *o++ = '"';
    return o;
}

amid_msg *amid_encode_event(const char *server, uint64_t seq, const char *epoch,
                            const ami_packet *p)
{
    size_t n = ami_packet_count(p);
    size_t wire = ami_packet_wire_size(p);
    /* Worst case: every byte escaped to 6, plus punctuation per header. */
    size_t cap = 128 + 6 * (strlen(server) + strlen(epoch)) + 6 * wire + 8 * n;
    amid_msg *m = malloc(sizeof *m + LWS_PRE + cap + 1);
    if (!m)
        return NULL;
    unsigned char *start = m->buf + LWS_PRE, *o = start;
    memcpy(o, "{\"server\":", 10);
    o = put_str(o + 10, server, strlen(server));
    o += sprintf((char *)o, ",\"seq\":%llu,\"epoch\":", (unsigned long long)seq);
    o = put_str(o, epoch, strlen(epoch));
    memcpy(o, ",\"event\":{", 10);
    o += 10;
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t kl, vl;
        if (ami_packet_header(p, i, &k, &kl, &v, &vl) != 0)
            continue;
        int seen = 0, more = 0;
        for (size_t j = 0; j < n && !seen; j++) {
            const char *k2;
            size_t kl2;
            if (j == i || ami_packet_header(p, j, &k2, &kl2, NULL, NULL) != 0)
                continue;
            if (kl2 == kl && memcmp(k2, k, kl) == 0) {
                if (j < i)
                    seen = 1; /* written with the first occurrence */
                else
                    more = 1;
            }
        }
        if (seen)
            continue;
        if (!first)
            *o++ = ',';
        first = 0;
        o = put_str(o, k, kl);
        *o++ = ':';
        if (!more) {
            o = put_str(o, v, vl);
            continue;
        }
        *o++ = '[';
        o = put_str(o, v, vl);
        for (size_t j = i + 1; j < n; j++) {
            const char *k2, *v2;
            size_t kl2, vl2;
            if (ami_packet_header(p, j, &k2, &kl2, &v2, &vl2) == 0 && kl2 == kl &&
                memcmp(k2, k, kl) == 0) {
                *o++ = ',';
                o = put_str(o, v2, vl2);
            }
        }
        *o++ = ']';
    }
    *o++ = '}';
    *o++ = '}';
    *o = '\0';
    size_t len = (size_t)(o - start);
    amid_msg *shrunk = realloc(m, sizeof *m + LWS_PRE + len + 1);
    if (shrunk)
        m = shrunk;
    m->refs = 1;
    m->classes = AMID_CLASS_ALL;
    m->seq = seq;
    m->server = 0;
    m->name_off = 0;
    m->msgid_off = 0;
    m->len = len;
    return m;
}
