/*
 * `ami decode` JSON writer fuzz target. Hostile server bytes go through the
 * parser into the tool's two JSON writers (the hand-written ndjson escaper
 * and the jansson-built json document); whatever the bytes, every output
 * must be valid JSON under a strict checker written here (independent of
 * both writers), each ndjson record must be one line, the document must be
 * an array with one member per packet, and both writers must describe the
 * same value.
 *
 * Input: byte 0 picks the parser mode and the always-array key, byte 1 the
 * feeding chunk size, the rest is the byte stream.
 */
#include "jsonstr.h"
#include "output.h"
#include "tool.h"

#include <ami/ami.h>

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The tool's main.c provides these; the target has its own so that the
 * writer files compile unchanged. An allocation failure is a finding. */
void tool_err(const char *fmt, ...)
{
    (void)fmt;
}

_Noreturn void tool_oom(void)
{
    abort();
}

void *tool_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

/* ------------------------------------------------------------------ */
/* Strict JSON checker (RFC 8259, UTF-8 only, no lone surrogates).      */
/* ------------------------------------------------------------------ */

typedef struct jcheck {
    const unsigned char *s;
    size_t n, i;
    int depth;
} jcheck;

#define JC_MAX_DEPTH 64

static void jc_ws(jcheck *c)
{
    while (c->i < c->n &&
           (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

/* Length of the well-formed UTF-8 sequence at s (Unicode table 3-7), or 0. */
static size_t jc_utf8(const unsigned char *s, size_t n)
{
    unsigned b = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        len = 2;
    else if (b >= 0xE0 && b <= 0xEF)
        len = 3;
    else if (b >= 0xF0 && b <= 0xF4)
        len = 4;
    else
        return 0;
    if (b == 0xE0)
        lo = 0xA0;
    if (b == 0xED)
        hi = 0x9F;
    if (b == 0xF0)
        lo = 0x90;
    if (b == 0xF4)
        hi = 0x8F;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return len;
}

static int jc_hex4(jcheck *c, unsigned *out)
{
    unsigned v = 0;
    if (c->n - c->i < 4)
        return -1;
    for (int k = 0; k < 4; k++) {
        unsigned ch = c->s[c->i++], d;
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F')
            d = ch - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static int jc_string(jcheck *c)
{
    if (c->i >= c->n || c->s[c->i] != '"')
        return -1;
    c->i++;
    while (c->i < c->n) {
        unsigned ch = c->s[c->i];
        if (ch == '"') {
            c->i++;
            return 0;
        }
        if (ch < 0x20)
            return -1;
        if (ch == '\\') {
            if (++c->i >= c->n)
                return -1;
            ch = c->s[c->i++];
            if (ch == 'u') {
                unsigned u, u2;
                if (jc_hex4(c, &u) != 0)
                    return -1;
                if (u >= 0xDC00 && u <= 0xDFFF)
                    return -1; /* low surrogate first */
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (c->n - c->i < 2 || c->s[c->i] != '\\' || c->s[c->i + 1] != 'u')
                        return -1;
                    c->i += 2;
                    if (jc_hex4(c, &u2) != 0 || u2 < 0xDC00 || u2 > 0xDFFF)
                        return -1;
                }
            } else if (!strchr("\"\\/bfnrt", (int)ch) || ch == 0) {
                return -1;
            }
            continue;
        }
        size_t k = jc_utf8(c->s + c->i, c->n - c->i);
        if (k == 0)
            return -1;
        c->i += k;
    }
    return -1;
}

static int jc_digits(jcheck *c)
{
    size_t start = c->i;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9')
        c->i++;
    return c->i > start ? 0 : -1;
}

static int jc_number(jcheck *c)
{
    if (c->i < c->n && c->s[c->i] == '-')
        c->i++;
    if (c->i < c->n && c->s[c->i] == '0')
        c->i++;
    else if (jc_digits(c) != 0)
        return -1;
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++;
        if (jc_digits(c) != 0)
            return -1;
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
            c->i++;
        if (jc_digits(c) != 0)
            return -1;
    }
    return 0;
}

static int jc_literal(jcheck *c, const char *word)
{
    size_t len = strlen(word);
    if (c->n - c->i < len || memcmp(c->s + c->i, word, len) != 0)
        return -1;
    c->i += len;
    return 0;
}

static int jc_value(jcheck *c);

/* Members or elements up to `close`; objects need "key": before each. */
static int jc_container(jcheck *c, unsigned char close, int object, size_t *members)
{
    if (++c->depth > JC_MAX_DEPTH)
        return -1;
    c->i++;
    jc_ws(c);
    *members = 0;
    if (c->i < c->n && c->s[c->i] == close) {
        c->i++;
        c->depth--;
        return 0;
    }
    for (;;) {
        jc_ws(c);
        if (object) {
            if (jc_string(c) != 0)
                return -1;
            jc_ws(c);
            if (c->i >= c->n || c->s[c->i] != ':')
                return -1;
            c->i++;
        }
        if (jc_value(c) != 0)
            return -1;
        (*members)++;
        jc_ws(c);
        if (c->i >= c->n)
            return -1;
        if (c->s[c->i] == ',') {
            c->i++;
            continue;
        }
        if (c->s[c->i] != close)
            return -1;
        c->i++;
        c->depth--;
        return 0;
    }
}

static int jc_value(jcheck *c)
{
    size_t members;
    jc_ws(c);
    if (c->i >= c->n)
        return -1;
    switch (c->s[c->i]) {
    case '{':
        return jc_container(c, '}', 1, &members);
    case '[':
        return jc_container(c, ']', 0, &members);
    case '"':
        return jc_string(c);
    case 't':
        return jc_literal(c, "true");
    case 'f':
        return jc_literal(c, "false");
    case 'n':
        return jc_literal(c, "null");
    default:
        return jc_number(c);
    }
}

/* Whole text is exactly one value of the given opening byte; returns its
 * member count through *members, or -1 when invalid. */
static int jc_document(const char *text, size_t n, unsigned char open, size_t *members)
{
    jcheck c = {(const unsigned char *)text, n, 0, 0};
    jc_ws(&c);
    if (c.i >= c.n || c.s[c.i] != open)
        return -1;
    if (jc_container(&c, open == '{' ? '}' : ']', open == '{', members) != 0)
        return -1;
    jc_ws(&c);
    return c.i == c.n ? 0 : -1;
}

/* ------------------------------------------------------------------ */

static void check_packet(const ami_packet *p, const char *array_key, tool_keygroup *kg,
                         tool_buf *nd, tool_buf *js)
{
    size_t members_nd, members_js;
    nd->len = 0;
    js->len = 0;
    tool_packet_ndjson(nd, kg, p, array_key);
    tool_packet_json(js, kg, p, array_key);
    if (jc_document(nd->p, nd->len, '{', &members_nd) != 0)
        abort(); /* ndjson record is not valid JSON */
    if (memchr(nd->p, '\n', nd->len))
        abort(); /* an ndjson record must stay on one line */
    if (jc_document(js->p, js->len, '{', &members_js) != 0)
        abort(); /* json object is not valid JSON */
    if (members_nd != kg->ngroups || members_js != kg->ngroups)
        abort(); /* one member per distinct (sanitized) key */
    if (members_nd == 0 && ami_packet_count(p) != 0)
        abort();
    /* Both writers must describe the same value. jansson refuses NUL in
     * keys when loading, so compare only when it loads both. */
    json_error_t err;
    json_t *a = json_loadb(nd->p, nd->len, JSON_ALLOW_NUL, &err);
    json_t *b = json_loadb(js->p, js->len, JSON_ALLOW_NUL, &err);
    if ((a == NULL) != (b == NULL))
        abort();
    if (a && b && !json_equal(a, b))
        abort();
    json_decref(a);
    json_decref(b);
}

/* The checker must itself be strict, or the target proves nothing: run it
 * once over documents it has to refuse and accept. */
static void self_test(void)
{
    static const char *const bad[] = {"{\"a\":\"\x01\"}",
                                      "{\"a\":\"\xff\"}",
                                      "{\"a\":\"\xed\xa0\x80\"}",
                                      "{\"a\":\"\\ud800\"}",
                                      "{\"a\":\"\\x\"}",
                                      "{\"a\":\"b\",}",
                                      "{\"a\"}",
                                      "{\"a\":\"b\"}x",
                                      "{\"a\":01}",
                                      "{\"a\":\"\xc0\xaf\"}",
                                      "{\"a\":\"b}"};
    static const char *const good[] = {"{}", "{\"a\":[\"\\u0000\",\"\xe2\x82\xac\"]}",
                                       "{\"\\ud83d\\ude00\":-1.5e+3, \"b\":[true,null]}"};
    size_t m;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (jc_document(bad[i], strlen(bad[i]), '{', &m) == 0)
            abort();
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (jc_document(good[i], strlen(good[i]), '{', &m) != 0)
            abort();
}

static const char *const array_keys[] = {NULL, "Output", "Event", "ActionID"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int checked;
    if (!checked) {
        self_test();
        checked = 1;
    }
    if (size < 2)
        return 0;
    unsigned flags = data[0] & 1 ? AMI_PARSER_EXPECT_BANNER : 0;
    const char *array_key = array_keys[(data[0] >> 1) & 3];
    size_t chunk = data[1] ? data[1] : size;
    const char *stream = (const char *)data + 2;
    size_t n = size - 2;

    ami_parser *ps;
    if (ami_parser_create(&ps, flags) != 0)
        return 0;
    char *doc = NULL;
    size_t doc_len = 0;
    FILE *f = open_memstream(&doc, &doc_len);
    if (!f)
        abort();
    tool_out out;
    tool_out_init(&out, TOOL_FORMAT_JSON, f);
    out.array_key = array_key;
    tool_out_begin(&out);
    tool_keygroup kg = {0};
    tool_buf nd = {0}, js = {0};
    size_t packets = 0;

    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        if (ami_parser_feed(ps, stream + off, k) != 0)
            break;
        const ami_packet *p;
        int r;
        while ((r = ami_parser_next(ps, &p)) == 1) {
            check_packet(p, array_key, &kg, &nd, &js);
            tool_out_packet(&out, p);
            packets++;
        }
        if (r < 0)
            break;
    }
    if (tool_out_finish(&out) != TOOL_EXIT_OK)
        abort();
    fclose(f);
    size_t members;
    if (jc_document(doc, doc_len, '[', &members) != 0 || members != packets)
        abort(); /* the whole document must be one array, a member per packet */
    free(doc);
    tool_buf_free(&nd);
    tool_buf_free(&js);
    tool_keygroup_free(&kg);
    ami_parser_free(ps);
    return 0;
}
