/*
 * Events per second from `ami-sim --firehose N` over loopback.
 *
 * usage: firehose_bench MODE PORT N
 *   raw       baseline: 64 KiB reads, count "\r\n\r\n", nothing parsed
 *   blocking  ami_client_next_event() loop (owned packets)
 *   callback  ami_client event callback (borrowed packets)
 *   async     the event-loop client (ami_async) in the header-only poll loop
 *   state     the callback mode, every event also fed to a live-state store
 *             (ami/state.h); checks the store applied events and stayed small
 *
 * Every mode logs in (Events: on), counts the events up to "Event: SimDone"
 * and checks the count; the libami modes also check SimDone's Count: and
 * that every firehose event has the headers the simulator writes. Timing
 * starts once the Login response is in. The blocking mode also samples its
 * resident set as it goes, so one run shows whether memory stays flat.
 */
#include "common.h"

#include <ami/client.h>
#include <ami/state.h>
#if defined(__has_include)
#if __has_include(<ami/async.h>) && __has_include(<ami/adapters/poll.h>)
#include <ami/async.h>
#include <ami/adapters/poll.h>
#define HAVE_ASYNC 1
#endif
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64u * 1024u)
/* Events the simulator sends on login before the firehose. */
#define LOGIN_EVENTS 2u

/* ------------------------------------------------------------ baseline */

static uint64_t count_terminators(const char *p, size_t len, unsigned *tail)
{
    /* `tail` carries how much of "\r\n\r\n" the previous chunk ended with. */
    static const char term[4] = {'\r', '\n', '\r', '\n'};
    uint64_t n = 0;
    unsigned t = *tail;
    const char *end = p + len;
    while (t && p < end) {
        if (*p == term[t]) {
            t++;
            p++;
            if (t == 4) {
                n++;
                t = 0;
            }
        } else {
            t = *p == '\r' ? 1 : 0;
            p++;
            break;
        }
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            t = end[-1] == '\r' ? 1 : 0;
            break;
        }
        /* A terminator is "\r\n\r\n": a '\n' preceded by '\r', then "\r\n". */
        size_t after = (size_t)(end - nl) - 1;
        if (after >= 2) {
            if (nl[1] == '\r' && nl[2] == '\n')
                n++;
            p = nl + 1;
            t = 0;
        } else {
            t = after == 0 ? 2 : nl[1] == '\r' ? 3 : 0;
            p = end;
        }
    }
    *tail = t;
    return n;
}

static double run_raw(unsigned port, uint64_t want, uint64_t *events)
{
    int fd = bench_connect(port);
    char *buf = malloc(CHUNK);
    size_t n = bench_raw_login(fd, "on", buf, CHUNK);
    double t0 = bench_now();
    unsigned tail = 0;
    uint64_t packets = 0;
    /* SimDone is the packet after the firehose: look for it only then. */
    uint64_t last = want + LOGIN_EVENTS + 1;
    for (;;) {
        packets += count_terminators(buf, n, &tail);
        if (packets >= last)
            break;
        ssize_t r = read(fd, buf, CHUNK);
        if (r <= 0)
            bench_die("raw: connection ended after %llu packets", (unsigned long long)packets);
        n = (size_t)r;
    }
    double t1 = bench_now();
    if (packets != last)
        bench_die("raw: %llu packets, expected %llu", (unsigned long long)packets,
                  (unsigned long long)last);
    *events = packets - LOGIN_EVENTS - 1;
    free(buf);
    close(fd);
    return t1 - t0;
}

/* ---------------------------------------------------------------- libami */

typedef struct counter {
    ami_client *client;
    ami_state *state; /* state mode: the store every event goes to */
    uint64_t firehose;
    uint64_t other;
    uint64_t headers;
    uint64_t want;
    uint64_t next_sample;
    long rss_min, rss_max;
    int done;
} counter;

static void sample_rss(counter *c)
{
    long rss = bench_rss_kib();
    if (c->rss_min < 0 || rss < c->rss_min)
        c->rss_min = rss;
    if (rss > c->rss_max)
        c->rss_max = rss;
    c->next_sample += c->want / 16 + 1;
}

static void count_event(counter *c, const ami_packet *p)
{
    const char *name = ami_packet_event_name(p);
    if (!name)
        bench_die("event without a name");
    if (strcmp(name, "SimDone") == 0) {
        const char *count = ami_packet_get(p, "Count");
        if (!count || bench_arg_u64(count, "Count") != c->want)
            bench_die("SimDone Count %s, expected %llu", count ? count : "(none)",
                      (unsigned long long)c->want);
        c->done = 1;
        return;
    }
    /* The simulator's firehose events carry 16 headers (VarSet 18), the
     * 16th being Linkedid; ami_packet_get would cost more than the check. */
    size_t headers = ami_packet_count(p);
    const char *key = NULL;
    size_t key_len = 0;
    ami_packet_header(p, 15, &key, &key_len, NULL, NULL);
    if ((headers == 16 || headers == 18) && key_len == 8 && memcmp(key, "Linkedid", 8) == 0) {
        c->firehose++;
        c->headers += headers;
    } else {
        c->other++;
    }
    if (c->firehose >= c->next_sample)
        sample_rss(c);
}

static void on_event(ami_session *s, const ami_packet *p, void *ud)
{
    (void)s;
    counter *c = ud;
    count_event(c, p);
    if (c->state && ami_state_feed_event(c->state, p) < 0)
        bench_die("state: feed failed");
    /* Closing from the callback is deferred until it returns. */
    if (c->done)
        ami_client_close(c->client);
}

static double run_client(unsigned port, uint64_t want, int use_cb, ami_state *st, counter *c)
{
    ami_client *cl;
    if (ami_client_create(&cl))
        bench_die("client_create");
    memset(c, 0, sizeof *c);
    c->client = cl;
    c->state = st;
    c->want = want;
    c->rss_min = -1;
    if (use_cb)
        ami_client_set_event_cb(cl, on_event, c);
    if (ami_client_connect(cl, "127.0.0.1", port, 5000))
        bench_die("connect: %s", ami_client_errmsg(cl));
    if (ami_client_login(cl, "admin", "amp111", AMI_LOGIN_PLAIN, "on", 5000))
        bench_die("login: %s", ami_client_errmsg(cl));
    double t0 = bench_now();
    while (!c->done) {
        ami_packet *p = NULL;
        int rc = ami_client_next_event(cl, 10000, &p);
        if (rc == 1) {
            count_event(c, p);
            ami_packet_free(p);
        } else if (!(use_cb && c->done)) {
            bench_die("next_event: %d %s", rc, ami_client_errmsg(cl));
        }
    }
    double t1 = bench_now();
    sample_rss(c);
    if (c->firehose != want || c->other > LOGIN_EVENTS)
        bench_die("counted %llu firehose events (+%llu others), expected %llu",
                  (unsigned long long)c->firehose, (unsigned long long)c->other,
                  (unsigned long long)want);
    ami_client_free(cl);
    return t1 - t0;
}

#ifdef HAVE_ASYNC
typedef struct async_run {
    counter c;
    double t0;
    int up;
} async_run;

static void on_async_event(ami_async *a, const ami_packet *p, void *ud)
{
    async_run *r = ud;
    count_event(&r->c, p);
    if (r->c.done)
        ami_async_stop(a);
}

static void on_async_state(ami_async *a, ami_async_state st, ami_async_reason why, void *ud)
{
    (void)a;
    async_run *r = ud;
    if (st == AMI_ASYNC_UP && !r->up) {
        r->up = 1;
        r->t0 = bench_now();
    } else if (st == AMI_ASYNC_STOPPED && !r->c.done) {
        bench_die("async: stopped (%s)", ami_async_reason_name(why));
    }
}

static int async_done(void *ud)
{
    return ((async_run *)ud)->c.done;
}

static double run_async(unsigned port, uint64_t want, counter *out)
{
    async_run r;
    memset(&r, 0, sizeof r);
    r.c.want = want;
    r.c.rss_min = -1;
    ami_async *a;
    if (ami_async_create(&a) || ami_async_set_server(a, "127.0.0.1", port) ||
        ami_async_set_login(a, "admin", "amp111", AMI_LOGIN_PLAIN) || ami_async_set_events(a, "on"))
        bench_die("async: setup failed");
    ami_async_set_reconnect(a, 0, 500, 500, 0);
    ami_async_set_event_cb(a, on_async_event, &r);
    ami_async_set_state_cb(a, on_async_state, &r);
    if (ami_async_start(a))
        bench_die("async: start: %s", ami_async_errmsg(a));
    if (ami_poll_loop(&a, 1, 600000, async_done, &r) != 1)
        bench_die("async: not done: %s", ami_async_errmsg(a));
    double t1 = bench_now();
    sample_rss(&r.c);
    if (r.c.firehose != want || r.c.other > LOGIN_EVENTS)
        bench_die("async: counted %llu firehose events, expected %llu",
                  (unsigned long long)r.c.firehose, (unsigned long long)want);
    ami_async_free(a);
    *out = r.c;
    return t1 - r.t0;
}
#endif

int main(int argc, char **argv)
{
    if (argc != 4)
        bench_die("usage: firehose_bench raw|blocking|callback|async|state PORT N");
    unsigned port = (unsigned)bench_arg_u64(argv[2], "port");
    uint64_t want = bench_arg_u64(argv[3], "N");
    double secs;
    uint64_t events;
    counter c = {0};
    c.rss_min = c.rss_max = -1;
    if (strcmp(argv[1], "raw") == 0) {
        secs = run_raw(port, want, &events);
    } else if (strcmp(argv[1], "blocking") == 0 || strcmp(argv[1], "callback") == 0) {
        secs = run_client(port, want, argv[1][0] == 'c', NULL, &c);
        events = c.firehose;
    } else if (strcmp(argv[1], "state") == 0) {
        ami_state *st;
        if (ami_state_create(&st))
            bench_die("state_create");
        secs = run_client(port, want, 1, st, &c);
        events = c.firehose;
        ami_state_stats ss;
        ami_state_stats_get(st, &ss);
        /* The firehose has a few dozen concurrent calls (whether or not its
         * calls hang up): a store that grew past that leaks ghosts. */
        if (ami_state_count(st, AMI_STATE_CHANNEL) > 1024 || ss.applied == 0)
            bench_die("state: %zu channels left, %llu events applied",
                      ami_state_count(st, AMI_STATE_CHANNEL), (unsigned long long)ss.applied);
        printf("state_applied %llu\n", (unsigned long long)ss.applied);
        printf("state_contradictions %llu\n", (unsigned long long)ss.contradictions);
        ami_state_free(st);
#ifdef HAVE_ASYNC
    } else if (strcmp(argv[1], "async") == 0) {
        secs = run_async(port, want, &c);
        events = c.firehose;
#endif
    } else {
        bench_die("unknown mode %s", argv[1]);
    }
    printf("events %llu\n", (unsigned long long)events);
    printf("seconds %.6f\n", secs);
    printf("events_per_s %.0f\n", (double)events / secs);
    printf("rss_min_kib %ld\n", c.rss_min);
    printf("rss_max_kib %ld\n", c.rss_max);
    printf("peak_rss_kib %ld\n", bench_peak_rss_kib());
    return 0;
}
