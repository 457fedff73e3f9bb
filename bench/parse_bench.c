/*
 * Parser throughput over the fixtures' event mix, against a memchr line
 * walk over the same bytes in the same process.
 *
 * usage: parse_bench FIXTURE_DIR [MEGABYTES]  (default 200)
 *
 * Every event packet of every capture is collected once (the "unit"), the
 * unit is repeated to at least MEGABYTES in memory, then both walks run over
 * the whole buffer. The parser gets the bytes in 64 KiB feeds, as from a
 * socket. Correctness is checked twice: exactly, header by header, against
 * a naive oracle over one unit (untimed); and by totals over the timed pass
 * (packets, headers, key and value bytes, a cheap sum of boundary bytes),
 * which must equal the unit's totals times the repetitions.
 */
#include "common.h"

#include <ami/ami.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEED (64u * 1024u)

typedef struct totals {
    uint64_t packets;
    uint64_t headers;
    uint64_t key_bytes;
    uint64_t value_bytes;
    uint64_t edge_sum; /* first key byte + last value byte of each header */
} totals;

typedef struct growbuf {
    char *data;
    size_t len, cap;
} growbuf;

static void gb_append(growbuf *b, const char *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->len + n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data)
            bench_die("out of memory");
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static char *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        bench_die("cannot open %s", path);
    growbuf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        gb_append(&b, tmp, n);
    fclose(f);
    *len = b.len;
    return b.data;
}

static const char *find(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

/* Append every "Event:" packet of one capture to the unit. The split is
 * deliberately naive (blank line = end), independent of libami. */
static void collect_events(const char *raw, size_t len, growbuf *unit)
{
    const char *p = find(raw, len, "\r\n");
    if (!p)
        return;
    p += 2; /* the banner */
    const char *end = raw + len;
    while (p < end) {
        const char *term = find(p, (size_t)(end - p), "\r\n\r\n");
        if (!term)
            break;
        size_t n = (size_t)(term - p) + 4;
        if (n > 7 && memcmp(p, "Event: ", 7) == 0)
            gb_append(unit, p, n);
        p += n;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static growbuf build_unit(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        bench_die("cannot open fixtures dir %s", dir);
    char *names[256];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 256) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".raw") == 0)
            names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof names[0], cmp_str);
    growbuf unit = {0};
    for (size_t i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        char *raw = load(path, &len);
        collect_events(raw, len, &unit);
        free(raw);
        free(names[i]);
    }
    if (unit.len == 0)
        bench_die("no events found under %s", dir);
    return unit;
}

/* The oracle's view of one header line. */
typedef struct oheader {
    const char *key, *value;
    size_t key_len, value_len;
} oheader;

/* Split `unit` naively into headers (line ends CRLF, key before the first
 * ':', one optional space) and add them to `t`; `out` receives them. */
static size_t oracle(const char *unit, size_t len, totals *t, oheader **out)
{
    size_t cap = 1024, n = 0;
    oheader *hs = malloc(cap * sizeof *hs);
    const char *p = unit, *end = unit + len;
    while (p < end) {
        const char *eol = find(p, (size_t)(end - p), "\r\n");
        if (!eol)
            bench_die("oracle: unterminated line");
        if (eol == p) {
            t->packets++;
            p += 2;
            continue;
        }
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon)
            bench_die("oracle: line without ':'");
        oheader h = {p, colon + 1, (size_t)(colon - p), (size_t)(eol - colon - 1)};
        if (h.value_len && h.value[0] == ' ') {
            h.value++;
            h.value_len--;
        }
        if (n == cap) {
            cap *= 2;
            hs = realloc(hs, cap * sizeof *hs);
        }
        hs[n++] = h;
        t->headers++;
        t->key_bytes += h.key_len;
        t->value_bytes += h.value_len;
        t->edge_sum +=
            (unsigned char)h.key[0] + (h.value_len ? (unsigned char)h.value[h.value_len - 1] : 0u);
        p = eol + 2;
    }
    *out = hs;
    return n;
}

/* Parse one unit and compare every header with the oracle, exactly. */
static void verify_exact(const char *unit, size_t len, const oheader *hs, size_t nh)
{
    ami_parser *p;
    if (ami_parser_create(&p, 0))
        bench_die("parser_create");
    if (ami_parser_feed(p, unit, len))
        bench_die("feed");
    const ami_packet *pkt;
    size_t at = 0;
    int rc;
    while ((rc = ami_parser_next(p, &pkt)) == 1) {
        for (size_t i = 0; i < ami_packet_count(pkt); i++, at++) {
            const char *k, *v;
            size_t kl, vl;
            ami_packet_header(pkt, i, &k, &kl, &v, &vl);
            if (at >= nh || kl != hs[at].key_len || vl != hs[at].value_len ||
                memcmp(k, hs[at].key, kl) != 0 || memcmp(v, hs[at].value, vl) != 0)
                bench_die("verify: header %zu differs from the oracle", at);
        }
    }
    if (rc < 0 || at != nh)
        bench_die("verify: parser stopped at header %zu of %zu (rc %d)", at, nh, rc);
    ami_parser_free(p);
}

static uint64_t memchr_walk(const char *buf, size_t len)
{
    uint64_t lines = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        lines++;
        p = nl + 1;
    }
    return lines;
}

static totals parser_walk(const char *buf, size_t len)
{
    totals t = {0};
    ami_parser *p;
    if (ami_parser_create(&p, 0))
        bench_die("parser_create");
    for (size_t off = 0; off < len;) {
        size_t n = len - off < FEED ? len - off : FEED;
        if (ami_parser_feed(p, buf + off, n))
            bench_die("feed failed at %zu", off);
        off += n;
        const ami_packet *pkt;
        int rc;
        while ((rc = ami_parser_next(p, &pkt)) == 1) {
            size_t count = ami_packet_count(pkt);
            t.packets++;
            t.headers += count;
            for (size_t i = 0; i < count; i++) {
                const char *k, *v;
                size_t kl, vl;
                ami_packet_header(pkt, i, &k, &kl, &v, &vl);
                t.key_bytes += kl;
                t.value_bytes += vl;
                t.edge_sum += (unsigned char)k[0] + (vl ? (unsigned char)v[vl - 1] : 0u);
            }
        }
        if (rc < 0)
            bench_die("parser error %d at %llu", rc,
                      (unsigned long long)ami_parser_error_offset(p));
    }
    ami_parser_free(p);
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        bench_die("usage: parse_bench FIXTURE_DIR [MEGABYTES]");
    uint64_t mb = argc > 2 ? bench_arg_u64(argv[2], "megabytes") : 200;
    growbuf unit = build_unit(argv[1]);

    totals ut = {0};
    oheader *hs;
    size_t nh = oracle(unit.data, unit.len, &ut, &hs);
    uint64_t unit_lines = ut.headers + ut.packets;
    verify_exact(unit.data, unit.len, hs, nh);

    size_t reps = (size_t)((mb * 1000000 + unit.len - 1) / unit.len);
    size_t len = reps * unit.len;
    char *buf = malloc(len);
    if (!buf)
        bench_die("cannot allocate %zu bytes", len);
    for (size_t i = 0; i < reps; i++)
        memcpy(buf + i * unit.len, unit.data, unit.len);

    /* Untimed passes first, so that neither walk pays for page faults. */
    memchr_walk(buf, len);
    parser_walk(buf, len);

    double t0 = bench_now();
    uint64_t lines = memchr_walk(buf, len);
    double t1 = bench_now();
    totals t = parser_walk(buf, len);
    double t2 = bench_now();

    if (lines != unit_lines * reps)
        bench_die("memchr walk counted %llu lines, expected %llu", (unsigned long long)lines,
                  (unsigned long long)(unit_lines * reps));
    if (t.packets != ut.packets * reps || t.headers != ut.headers * reps ||
        t.key_bytes != ut.key_bytes * reps || t.value_bytes != ut.value_bytes * reps ||
        t.edge_sum != ut.edge_sum * reps)
        bench_die("parser totals differ: packets %llu/%llu headers %llu/%llu",
                  (unsigned long long)t.packets, (unsigned long long)(ut.packets * reps),
                  (unsigned long long)t.headers, (unsigned long long)(ut.headers * reps));

    printf("bytes %zu\n", len);
    printf("packets %llu\n", (unsigned long long)t.packets);
    printf("headers %llu\n", (unsigned long long)t.headers);
    printf("avg_packet_bytes %.1f\n", (double)len / (double)t.packets);
    printf("baseline_bytes_per_s %.0f\n", (double)len / (t1 - t0));
    printf("parser_bytes_per_s %.0f\n", (double)len / (t2 - t1));
    printf("parser_packets_per_s %.0f\n", (double)t.packets / (t2 - t1));
    printf("verified 1\n");
    free(buf);
    free(hs);
    free(unit.data);
    return 0;
}
