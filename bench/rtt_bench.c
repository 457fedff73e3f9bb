/*
 * Ping round trips per second against ami-sim over loopback.
 *
 * usage: rtt_bench MODE PORT DEPTH COUNT
 *   raw       baseline: hand-written Ping bytes, responses counted by
 *             "\r\n\r\n", DEPTH kept in flight, no parsing
 *   blocking  ami_client_call(Ping) in a loop (DEPTH must be 1)
 *   session   the sans-I/O session over a plain socket, DEPTH in flight:
 *             each result callback sends the next Ping (the blocking
 *             client waits for one action at a time by design)
 *
 * Every mode checks that COUNT responses arrived; the libami modes check
 * each one is a Success.
 */
#include "common.h"

#include <ami/client.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64u * 1024u)

static const char PING[] = "Action: Ping\r\nActionID: r\r\n\r\n";
#define PING_LEN (sizeof(PING) - 1)

/* Count "\r\n\r\n" across reads; *run is how much of it the last read
 * ended with. Byte-wise: responses are short and few. */
static uint64_t count_terms(const char *p, size_t len, unsigned *run)
{
    static const char term[4] = {'\r', '\n', '\r', '\n'};
    uint64_t n = 0;
    unsigned t = *run;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == term[t]) {
            if (++t == 4) {
                n++;
                t = 0;
            }
        } else {
            t = p[i] == '\r' ? 1 : 0;
        }
    }
    *run = t;
    return n;
}

static void send_pings(int fd, uint64_t n)
{
    char buf[PING_LEN * 256];
    while (n) {
        uint64_t k = n < 256 ? n : 256;
        for (uint64_t i = 0; i < k; i++)
            memcpy(buf + i * PING_LEN, PING, PING_LEN);
        bench_write_all(fd, buf, (size_t)k * PING_LEN);
        n -= k;
    }
}

static double run_raw(unsigned port, uint64_t depth, uint64_t count)
{
    int fd = bench_connect(port);
    char *buf = malloc(CHUNK);
    if (bench_raw_login(fd, "off", buf, CHUNK) != 0)
        bench_die("raw: unexpected bytes after login");
    double t0 = bench_now();
    uint64_t sent = depth < count ? depth : count, got = 0;
    unsigned run = 0;
    send_pings(fd, sent);
    while (got < count) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r <= 0)
            bench_die("raw: connection ended after %llu responses", (unsigned long long)got);
        uint64_t k = count_terms(buf, (size_t)r, &run);
        got += k;
        uint64_t more = count - sent < k ? count - sent : k;
        if (more) {
            send_pings(fd, more);
            sent += more;
        }
    }
    double t1 = bench_now();
    free(buf);
    close(fd);
    return t1 - t0;
}

static ami_action *ping_action(void)
{
    ami_action *a;
    if (ami_action_create(&a, "Ping"))
        bench_die("action_create");
    return a;
}

static double run_blocking(unsigned port, uint64_t count)
{
    ami_client *c;
    if (ami_client_create(&c) || ami_client_connect(c, "127.0.0.1", port, 5000) ||
        ami_client_login(c, "admin", "amp111", AMI_LOGIN_PLAIN, "off", 5000))
        bench_die("blocking: cannot log in");
    ami_action *a = ping_action();
    double t0 = bench_now();
    for (uint64_t i = 0; i < count; i++) {
        ami_result *r = NULL;
        if (ami_client_call(c, a, 5000, &r) != 0)
            bench_die("Ping %llu: %s", (unsigned long long)i, ami_client_errmsg(c));
        ami_result_free(r);
    }
    double t1 = bench_now();
    ami_action_free(a);
    ami_client_free(c);
    return t1 - t0;
}

/* ------------------------------------------------ session over a socket */

typedef struct driver {
    ami_session *s;
    const ami_action *ping;
    int fd;
    uint64_t sent, done, count;
    int failed;
} driver;

static void on_pong(ami_session *s, ami_result *r, void *ud)
{
    driver *d = ud;
    if (ami_result_status(r) != 0)
        d->failed = 1;
    ami_result_free(r);
    d->done++;
    if (d->sent < d->count) {
        if (ami_session_send(s, d->ping, AMI_NO_DEADLINE, on_pong, d, NULL))
            bench_die("send: %s", ami_session_errmsg(s));
        d->sent++;
    }
}

static void flush(driver *d)
{
    const char *out;
    size_t len;
    ami_session_output(d->s, &out, &len);
    if (len) {
        bench_write_all(d->fd, out, len);
        ami_session_consume(d->s, len);
    }
}

/* Write what the session has, read once, feed it all. */
static void step(driver *d, char *buf)
{
    flush(d);
    ssize_t r = read(d->fd, buf, CHUNK);
    if (r <= 0)
        bench_die("session: connection ended (%s)", r < 0 ? strerror(errno) : "EOF");
    if (ami_session_recv(d->s, buf, (size_t)r, 0) != r)
        bench_die("session: recv refused bytes: %s", ami_session_errmsg(d->s));
}

static void on_login(ami_session *s, ami_result *r, void *ud)
{
    (void)s;
    *(int *)ud = ami_result_status(r) == 0 ? 1 : -1;
    ami_result_free(r);
}

static double run_session(unsigned port, uint64_t depth, uint64_t count)
{
    driver d = {0};
    d.fd = bench_connect(port);
    d.count = count;
    char *buf = malloc(CHUNK);
    if (ami_session_create(&d.s))
        bench_die("session_create");
    while (!ami_session_banner(d.s))
        step(&d, buf);
    ami_action *login;
    int logged = 0;
    if (ami_action_create(&login, "Login") || ami_action_add(login, "Username", "admin") ||
        ami_action_add(login, "Secret", "amp111") || ami_action_add(login, "Events", "off") ||
        ami_session_send(d.s, login, AMI_NO_DEADLINE, on_login, &logged, NULL))
        bench_die("login action");
    ami_action_free(login);
    while (!logged)
        step(&d, buf);
    if (logged < 0)
        bench_die("session: login refused");

    ami_action *ping = ping_action();
    d.ping = ping;
    double t0 = bench_now();
    for (; d.sent < depth && d.sent < count; d.sent++)
        if (ami_session_send(d.s, ping, AMI_NO_DEADLINE, on_pong, &d, NULL))
            bench_die("send: %s", ami_session_errmsg(d.s));
    while (d.done < count)
        step(&d, buf);
    double t1 = bench_now();
    if (d.failed)
        bench_die("session: a Ping failed");
    ami_action_free(ping);
    ami_session_free(d.s);
    close(d.fd);
    free(buf);
    return t1 - t0;
}

int main(int argc, char **argv)
{
    if (argc != 5)
        bench_die("usage: rtt_bench raw|blocking|session PORT DEPTH COUNT");
    unsigned port = (unsigned)bench_arg_u64(argv[2], "port");
    uint64_t depth = bench_arg_u64(argv[3], "depth");
    uint64_t count = bench_arg_u64(argv[4], "count");
    if (depth == 0 || count == 0)
        bench_die("depth and count must be positive");
    double secs;
    if (strcmp(argv[1], "raw") == 0)
        secs = run_raw(port, depth, count);
    else if (strcmp(argv[1], "blocking") == 0 && depth == 1)
        secs = run_blocking(port, count);
    else if (strcmp(argv[1], "session") == 0)
        secs = run_session(port, depth, count);
    else
        bench_die("unknown mode %s (blocking needs depth 1)", argv[1]);
    printf("round_trips %llu\n", (unsigned long long)count);
    printf("seconds %.6f\n", secs);
    printf("round_trips_per_s %.0f\n", (double)count / secs);
    return 0;
}
