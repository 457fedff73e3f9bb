/* Hand-written JSON string escaper: the ndjson hot path, no allocation. */
#include "jsonstr.h"

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

void tool_utf8_sanitize(tool_buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
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

void tool_json_string(tool_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    /* Worst case is 6 bytes per input byte plus the quotes; reserving once
     * keeps the loop free of capacity checks for the common case. */
    tool_buf_reserve(out, n + 2);
    tool_buf_addc(out, '"');
    while (i < n) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = tool_utf8_seq(u + i, n - i);
            if (k) {
                i += k;
                continue;
            }
        }
        tool_buf_add(out, s + run, i - run);
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            if (c >= 0x80) {
                esc[1] = 'u';
                esc[2] = 'f';
                esc[3] = 'f';
                esc[4] = 'f';
                esc[5] = 'd';
            } else {
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
            }
            elen = 6;
        }
        tool_buf_add(out, esc, elen);
        i++;
        run = i;
    }
    tool_buf_add(out, s + run, n - run);
    tool_buf_addc(out, '"');
}
