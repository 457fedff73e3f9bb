#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fixture_dir(void)
{
    const char *dir = getenv("AMI_FIXTURES");
    if (!dir) {
        fprintf(stderr, "AMI_FIXTURES is not set (run the tests through ctest)\n");
        abort();
    }
    return dir;
}

char *fixture_load(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", fixture_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open fixture %s\n", path);
        abort();
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf)
        abort();
    *len = n;
    return buf;
}

char *packet_flatten(const ami_packet *p)
{
    size_t total = 1;
    for (size_t i = 0; i < ami_packet_count(p); i++) {
        size_t kl, vl;
        ami_packet_header(p, i, NULL, &kl, NULL, &vl);
        total += kl + vl + 2;
    }
    char *s = malloc(total);
    if (!s)
        abort();
    size_t at = 0;
    for (size_t i = 0; i < ami_packet_count(p); i++) {
        const char *k, *v;
        size_t kl, vl;
        ami_packet_header(p, i, &k, &kl, &v, &vl);
        memcpy(s + at, k, kl);
        at += kl;
        s[at++] = '\x1f';
        memcpy(s + at, v, vl);
        at += vl;
        s[at++] = '\x1e';
    }
    s[at] = '\0';
    return s;
}

int parse_stream(const char *data, size_t len, unsigned flags, chunker_fn chunker, void *ctx,
                 parsed_stream *out)
{
    memset(out, 0, sizeof(*out));
    ami_parser *p;
    int rc = ami_parser_create(&p, flags);
    if (rc < 0)
        return rc;
    size_t cap = 0, off = 0;
    while (off < len || off == 0) {
        size_t n = chunker ? chunker(off, len - off, ctx) : len - off;
        if (n > len - off)
            n = len - off;
        rc = ami_parser_feed(p, data + off, n);
        off += n;
        const ami_packet *pkt;
        while (rc >= 0 && (rc = ami_parser_next(p, &pkt)) == 1) {
            if (out->count == cap) {
                cap = cap ? cap * 2 : 64;
                out->packets = realloc(out->packets, cap * sizeof(char *));
                out->kinds = realloc(out->kinds, cap * sizeof(int));
                if (!out->packets || !out->kinds)
                    abort();
            }
            out->kinds[out->count] = ami_packet_kind_of(pkt);
            out->packets[out->count++] = packet_flatten(pkt);
        }
        if (rc < 0) {
            out->error = rc;
            break;
        }
        if (len == 0)
            break;
    }
    ami_parser_free(p);
    return 0;
}

void parsed_stream_free(parsed_stream *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->packets[i]);
    free(s->packets);
    free(s->kinds);
    memset(s, 0, sizeof(*s));
}
