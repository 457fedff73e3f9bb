/*
 * WebSocket subscribers of amid's /v1/events for bench/amid_bench.py, in C so
 * that the clients, not amid, are not what bounds a 100-subscriber figure
 * (one Python process reads ~50k messages/s in all).
 *
 *   ws_bench latency PORT TOKEN_FILE K SECONDS WARMUP
 *     K subscribers of server "fire" fed by `ami-sim --firehose-rate`; for
 *     SECONDS after WARMUP seconds, the latency of every event from the
 *     sim's SimSentUs stamp to this client's read() (CLOCK_REALTIME, same
 *     machine), amid's seq checked for holes, gap messages counted with
 *     the events they announce (so a silent loss shows as holes > those).
 *   ws_bench idle PORT TOKEN_FILE K AMID_PID
 *     K subscribers that connect and stay idle; amid's VmRSS before and
 *     after (read from /proc), pings answered while settling.
 *
 * The token is read from a file so it is never in argv. Frames are parsed
 * with every length bounded; server frames must not be masked; client
 * frames (pongs, the close) are masked as RFC 6455 requires.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (16u << 20)

typedef struct wsc {
    int fd;
    unsigned char *buf;
    size_t len, cap;
    uint64_t last_seq;
    uint64_t events;
    int closed;
} wsc;

static char token[256];
static uint64_t gaps, holes, measured;
static uint64_t gap_events; /* sum of to - from + 1 over the gap messages */
static uint32_t *lat;
static size_t nlat, caplat;
static int recording;

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f || !fgets(token, sizeof token, f))
        bench_die("cannot read the token from %s", path);
    fclose(f);
    token[strcspn(token, "\r\n")] = 0;
    if (!token[0])
        bench_die("empty token in %s", path);
}

/* Connect and upgrade; bytes after the 101's header stay in c->buf. */
static void ws_open(wsc *c, unsigned port)
{
    c->fd = bench_connect(port);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /v1/events?server=fire HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
                     port, token);
    if (n < 0 || (size_t)n >= sizeof req)
        bench_die("request too long");
    bench_write_all(c->fd, req, (size_t)n);
    c->cap = 64 * 1024;
    c->buf = malloc(c->cap);
    if (!c->buf)
        bench_die("out of memory");
    c->len = 0;
    for (;;) {
        if (c->len == c->cap)
            bench_die("upgrade response too long");
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r <= 0)
            bench_die("upgrade: connection closed (%s)", r < 0 ? strerror(errno) : "EOF");
        c->len += (size_t)r;
        unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end)
            continue;
        if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0)
            bench_die("upgrade refused: %.40s", (const char *)c->buf);
        size_t hdr = (size_t)(end + 4 - c->buf);
        memmove(c->buf, c->buf + hdr, c->len - hdr);
        c->len -= hdr;
        break;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
}

/* A masked client frame (the mask may be zero: RFC 6455 only asks for one). */
static void send_frame(wsc *c, int op, const unsigned char *p, size_t n)
{
    unsigned char f[2 + 4 + 125];
    if (n > 125)
        n = 125;
    f[0] = (unsigned char)(0x80 | op);
    f[1] = (unsigned char)(0x80 | n);
    memset(f + 2, 0, 4);
    memcpy(f + 6, p, n);
    int fl = fcntl(c->fd, F_GETFL);
    fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
    bench_write_all(c->fd, (const char *)f, 6 + n);
    fcntl(c->fd, F_SETFL, fl);
}

static const char *find(const unsigned char *p, size_t n, const char *key)
{
    const unsigned char *h = memmem(p, n, key, strlen(key));
    return h ? (const char *)h + strlen(key) : NULL;
}

static void on_text(wsc *c, const unsigned char *p, size_t n, long long t)
{
    /* amid writes "type" first in a gap and "seq" within the first few
     * bytes of an event, the stamps last: look only there, so that 100
     * clients at 10,000 events/s cost this process as little as possible. */
    size_t head = n < 64 ? n : 64, tail = n < 160 ? n : 160;
    if (find(p, head, "\"type\":\"gap\"")) {
        gaps++;
        const char *fr = find(p, n, "\"from\":"), *to_s = find(p, n, "\"to\":");
        if (fr && to_s) {
            uint64_t from = strtoull(fr, NULL, 10), to = strtoull(to_s, NULL, 10);
            if (to >= from)
                gap_events += to - from + 1;
        }
        return;
    }
    const char *s = find(p, head, "\"seq\":");
    if (!s)
        return; /* not an event message */
    uint64_t seq = strtoull(s, NULL, 10);
    if (c->last_seq && seq != c->last_seq + 1)
        holes += seq > c->last_seq ? seq - c->last_seq - 1 : 1;
    c->last_seq = seq;
    const char *st = find(p + n - tail, tail, "\"SimSentUs\":\"");
    if (!st)
        return; /* the login's events, SimDone */
    c->events++;
    if (!recording)
        return;
    long long d = t - strtoll(st, NULL, 10);
    if (d < 0)
        d = 0;
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 1 << 20;
        lat = realloc(lat, caplat * sizeof *lat);
        if (!lat)
            bench_die("out of memory");
    }
    lat[nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    measured++;
}

/* Parse every whole frame in c->buf. */
static void frames(wsc *c, long long t)
{
    size_t off = 0;
    while (c->len - off >= 2) {
        const unsigned char *f = c->buf + off;
        size_t avail = c->len - off;
        int fin = f[0] & 0x80, op = f[0] & 0x0f;
        if (f[1] & 0x80)
            bench_die("masked frame from the server");
        uint64_t plen = f[1] & 0x7f;
        size_t h = 2;
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = ((uint64_t)f[2] << 8) | f[3];
            h = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = (plen << 8) | f[2 + i];
            h = 10;
        }
        if (plen > MAX_FRAME)
            bench_die("frame of %llu bytes", (unsigned long long)plen);
        if (avail - h < plen) {
            if (h + plen > c->cap) {
                c->cap = h + plen;
                c->buf = realloc(c->buf, c->cap);
                if (!c->buf)
                    bench_die("out of memory");
            }
            break;
        }
        const unsigned char *p = f + h;
        if (!fin || op == 0)
            bench_die("fragmented message (opcode %d): not handled by this client", op);
        if (op == 1)
            on_text(c, p, (size_t)plen, t);
        else if (op == 9)
            send_frame(c, 10, p, (size_t)plen);
        else if (op == 8) {
            fprintf(stderr, "ws_bench: server closed a client: %.*s\n",
                    plen > 2 ? (int)plen - 2 : 0, (const char *)p + 2);
            c->closed = 1;
        }
        off += h + (size_t)plen;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

/* Read and parse whatever arrived, until `until` (bench_now seconds). */
static void pump(wsc *cs, size_t k, struct pollfd *pf, double until)
{
    while (bench_now() < until) {
        for (size_t i = 0; i < k; i++)
            pf[i] = (struct pollfd){.fd = cs[i].closed ? -1 : cs[i].fd, .events = POLLIN};
        int r = poll(pf, k, 50);
        if (r < 0 && errno != EINTR)
            bench_die("poll: %s", strerror(errno));
        for (size_t i = 0; r > 0 && i < k; i++) {
            if (!pf[i].revents)
                continue;
            wsc *c = &cs[i];
            for (;;) {
                if (c->len == c->cap) {
                    c->cap *= 2;
                    c->buf = realloc(c->buf, c->cap);
                    if (!c->buf)
                        bench_die("out of memory");
                }
                ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                    break;
                if (n <= 0) {
                    fprintf(stderr, "ws_bench: connection %zu ended\n", i);
                    c->closed = 1;
                    break;
                }
                c->len += (size_t)n;
                frames(c, now_us());
            }
        }
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static long rss_kib(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        bench_die("cannot open %s", path);
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            v = strtol(line + 6, NULL, 10);
    fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 6)
        bench_die("usage: ws_bench latency PORT TOKEN_FILE K SECONDS WARMUP | "
                  "ws_bench idle PORT TOKEN_FILE K AMID_PID");
    int idle = !strcmp(argv[1], "idle");
    if (!idle && (strcmp(argv[1], "latency") || argc != 7))
        bench_die("unknown mode %s", argv[1]);
    unsigned port = (unsigned)bench_arg_u64(argv[2], "port");
    read_token(argv[3]);
    size_t k = (size_t)bench_arg_u64(argv[4], "K");
    if (k < 1 || k > 100000)
        bench_die("K from 1 to 100000");
    wsc *cs = calloc(k, sizeof *cs);
    struct pollfd *pf = calloc(k, sizeof *pf);
    if (!cs || !pf)
        bench_die("out of memory");

    if (idle) {
        long pid = (long)bench_arg_u64(argv[5], "pid");
        long before = rss_kib(pid);
        for (size_t i = 0; i < k; i++)
            ws_open(&cs[i], port);
        pump(cs, k, pf, bench_now() + 2.0); /* let amid settle, answer pings */
        long after = rss_kib(pid);
        size_t open = 0;
        for (size_t i = 0; i < k; i++)
            open += !cs[i].closed;
        printf("clients %zu\nopen %zu\nrss_before_kib %ld\nrss_after_kib %ld\n", k, open, before,
               after);
        printf("bytes_per_client %.0f\n", (double)(after - before) * 1024.0 / (double)k);
        return open == k ? 0 : 1;
    }

    double secs = (double)bench_arg_u64(argv[5], "seconds");
    double warm = (double)bench_arg_u64(argv[6], "warmup");
    for (size_t i = 0; i < k; i++)
        ws_open(&cs[i], port);
    pump(cs, k, pf, bench_now() + warm);
    uint64_t ev0 = 0;
    for (size_t i = 0; i < k; i++)
        ev0 += cs[i].events;
    uint64_t gaps0 = gaps, holes0 = holes;
    recording = 1;
    double t0 = bench_now();
    pump(cs, k, pf, t0 + secs);
    double el = bench_now() - t0;
    uint64_t ev = 0;
    size_t open = 0;
    for (size_t i = 0; i < k; i++) {
        ev += cs[i].events;
        open += !cs[i].closed;
    }
    ev -= ev0;
    if (!nlat)
        bench_die("no event measured");
    qsort(lat, nlat, sizeof *lat, cmp_u32);
    printf("clients %zu\nopen %zu\nseconds %.3f\n", k, open, el);
    printf("events_per_s_per_client %.0f\n", (double)ev / el / (double)k);
    printf("p50_us %u\np99_us %u\nmax_us %u\n", lat[nlat / 2], lat[(size_t)((double)nlat * 0.99)],
           lat[nlat - 1]);
    printf("gaps %llu\nholes %llu\ngaps_total %llu\nholes_total %llu\ngap_events_total %llu\n",
           (unsigned long long)(gaps - gaps0), (unsigned long long)(holes - holes0),
           (unsigned long long)gaps, (unsigned long long)holes, (unsigned long long)gap_events);
    return 0;
}
