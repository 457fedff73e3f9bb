/* Hand-written JSON string escaper: the ndjson hot path, no allocation. */
#include "jsonstr.h"

#include <stdint.h>
#include <string.h>

static const char replacement[] = "\xEF\xBF\xBD";

size_t tool_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* High bit of each byte of w that is zero (the classic SWAR test; exact
 * for the first such byte, which is all that is asked here). */
static inline uint64_t zero_bytes(uint64_t w)
{
    return (w - ONES) & ~w & HIGHS;
}

static inline uint64_t load8(const unsigned char *s)
{
    uint64_t w;
    memcpy(&w, s, sizeof w);
    return w;
}

/* Bytes at the start of s that are printable ASCII other than '"' and
 * '\\', i.e. that JSON takes as they are. Eight at a time: values are
 * mostly plain text, and a test per byte costs more than the copy. */
static size_t plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (n - i >= 8) {
        uint64_t w = load8(s + i);
        /* >= 0x80, or < 0x20 (then b + 0x60 stays below 0x80; without a
         * byte >= 0x80 no addition carries into the next byte). */
        uint64_t bad = (w | ~(w + ONES * 0x60)) & HIGHS;
        bad |= zero_bytes(w ^ (ONES * '"')) | zero_bytes(w ^ (ONES * '\\'));
        if (bad)
            break;
        i += 8;
    }
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

/* Bytes at the start of s below 0x80. */
static size_t ascii_run(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (n - i >= 8 && !(load8(s + i) & HIGHS))
        i += 8;
    while (i < n && s[i] < 0x80)
        i++;
    return i;
}

void tool_utf8_sanitize(tool_buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        i += ascii_run(u + i, n - i);
        if (i == n)
            break;
        size_t k = tool_utf8_seq(u + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        tool_buf_add(out, s + run, i - run);
        tool_buf_add(out, replacement, 3);
        i++;
        run = i;
    }
    tool_buf_add(out, s + run, n - run);
}

/*
 * Writes straight into the buffer. Invariant: past the write position
 * there is room for every input byte not yet taken plus the closing quote;
 * only an escape (up to 6 bytes for 1) needs to reserve more.
 */
void tool_json_string(tool_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    tool_buf_reserve(out, n + 2);
    char *d = out->p + out->len;
    *d++ = '"';
    size_t i = 0;
    while (i < n) {
        size_t run = plain_run(u + i, n - i);
        memcpy(d, s + i, run);
        d += run;
        i += run;
        if (i == n)
            break;
        unsigned c = u[i];
        if (c >= 0x80) {
            size_t k = tool_utf8_seq(u + i, n - i);
            if (k) {
                memcpy(d, s + i, k);
                d += k;
                i += k;
                continue;
            }
        }
        out->len = (size_t)(d - out->p);
        tool_buf_reserve(out, 6 + (n - i - 1) + 1);
        d = out->p + out->len;
        *d++ = '\\';
        switch (c) {
        case '"':
            *d++ = '"';
            break;
        case '\\':
            *d++ = '\\';
            break;
        case '\n':
            *d++ = 'n';
            break;
        case '\r':
            *d++ = 'r';
            break;
        case '\t':
            *d++ = 't';
            break;
        case '\b':
            *d++ = 'b';
            break;
        case '\f':
            *d++ = 'f';
            break;
        default:
            if (c >= 0x80) {
                memcpy(d, "ufffd", 5);
            } else {
                d[0] = 'u';
                d[1] = '0';
                d[2] = '0';
                d[3] = hex[c >> 4];
                d[4] = hex[c & 15];
            }
            d += 5;
        }
        i++;
    }
    *d++ = '"';
    out->len = (size_t)(d - out->p);
}
