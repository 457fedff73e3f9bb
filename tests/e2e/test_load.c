/*
 * Load: N events through one connection with constant memory (N = 1M by
 * default, AMI_LOAD_EVENTS=10000000 for the 10M figure), a thousand
 * actions in flight on one session, and hundreds of concurrent blocking
 * clients on one ami-sim. Each prints a LOAD line with its figures, quoted
 * in docs/reliability.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ami/client.h>

#include "sim_process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ASan keeps freed blocks in a quarantine (256 MiB by default), so RSS
 * grows under it whatever the code does: memory figures only count
 * without it. */
#if defined(__SANITIZE_ADDRESS__)
#define AMI_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AMI_TEST_ASAN 1
#endif
#endif
#ifndef AMI_TEST_ASAN
#define AMI_TEST_ASAN 0
#endif

static int under_valgrind(void)
{
    const char *v = getenv("AMI_UNDER_VALGRIND");
    return v && *v && strcmp(v, "0") != 0;
}

static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t flen = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, flen) == 0 && line[flen] == ':')
            v = strtol(line + flen + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned long env_count(const char *name, unsigned long def, unsigned long valgrind_def)
{
    const char *v = getenv(name);
    if (v && *v)
        return strtoul(v, NULL, 10);
    return under_valgrind() ? valgrind_def : def;
}

static ami_client *login_to(unsigned port)
{
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    int rc = ami_client_connect(c, "127.0.0.1", port, 5000);
    if (rc == 0)
        rc = ami_client_login(c, "admin", "amp111", AMI_LOGIN_PLAIN, "on", 5000);
    if (rc != 0)
        fail_msg("login: %s (%s)", ami_strerror(rc), ami_client_errmsg(c));
    return c;
}

/* ------------------------------------------------------------ firehose */

static void test_firehose_constant_memory(void **state)
{
    (void)state;
    unsigned long n = env_count("AMI_LOAD_EVENTS", 1000000, 20000);
    char count[32];
    snprintf(count, sizeof count, "%lu", n);
    const char *extra[] = {"--firehose", count, "--write-timeout", "0", NULL};
    sim_process sp;
    assert_int_equal(sim_process_start(&sp, 0, extra), 0);
    ami_client *c = login_to(sp.port);

    unsigned long got = 0, warm = n / 10;
    long hwm_warm = -1;
    double t0 = now_s();
    for (;;) {
        ami_packet *e = NULL;
        int rc = ami_client_next_event(c, 10000, &e);
        if (rc != 1)
            fail_msg("after %lu events: %d %s", got, rc, ami_client_errmsg(c));
        const char *name = ami_packet_event_name(e);
        int done = name && strcmp(name, "SimDone") == 0;
        if (done)
            assert_int_equal(strtoul(ami_packet_get(e, "Count"), NULL, 10), n);
        else if (name && strcmp(name, "FullyBooted") != 0 && strcmp(name, "SuccessfulAuth") != 0)
            got++;
        ami_packet_free(e);
        if (got == warm && hwm_warm < 0)
            hwm_warm = status_kib("VmHWM");
        if (done)
            break;
    }
    double secs = now_s() - t0;
    long hwm_end = status_kib("VmHWM");
    assert_int_equal(got, n);
    assert_int_equal(ami_session_pending_count(ami_client_session(c)), 0);
    printf("LOAD firehose: %lu events in %.2f s (%.0f events/s), peak RSS %ld KiB, growth after "
           "the first 10%%: %ld KiB\n",
           n, secs, (double)n / secs, hwm_end, hwm_end - hwm_warm);
    /* Constant memory: whatever the first tenth needed is all it needs. */
    if (!under_valgrind() && !AMI_TEST_ASAN)
        assert_true(hwm_end - hwm_warm < 4096);
    ami_client_free(c);
    sim_process_stop(&sp);
}

/* ------------------------------------------------------------ in flight */

typedef struct inflight {
    unsigned long done;
    unsigned long ok;
    unsigned long *seen; /* per ActionID counter: completions */
    unsigned long size;
    unsigned long twice; /* completions of an ID already completed */
} inflight;

static void on_pong(ami_session *s, ami_result *r, void *ud)
{
    (void)s;
    inflight *f = ud;
    const char *id = ami_result_action_id(r);
    const char *dash = strrchr(id, '-');
    unsigned long i = strtoul(dash ? dash + 1 : id, NULL, 10);
    if (i >= f->size || f->seen[i]++ != 0)
        f->twice++;
    f->done++;
    const char *pong =
        ami_result_status(r) == 0 ? ami_packet_get(ami_result_response(r), "Ping") : NULL;
    if (pong && strcmp(pong, "Pong") == 0)
        f->ok++;
    ami_result_free(r);
}

static int raw_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* One session over a plain socket: every action is queued before any
 * response is read, so they are all pending at once. */
static void test_thousand_in_flight(void **state)
{
    (void)state;
    const unsigned long n = 1000;
    sim_process sp;
    assert_int_equal(sim_process_start(&sp, 0, NULL), 0);
    int fd = raw_connect(sp.port);
    ami_session *s = NULL;
    assert_int_equal(ami_session_create(&s), 0);
    assert_int_equal(ami_session_set_id_prefix(s, "load-"), 0);
    inflight f = {0, 0, calloc(n + 2, sizeof(unsigned long)), n + 2, 0};

    ami_action *login = NULL, *ping = NULL;
    assert_int_equal(ami_action_create(&login, "Login"), 0);
    assert_int_equal(ami_action_add(login, "Username", "admin"), 0);
    assert_int_equal(ami_action_add(login, "Secret", "amp111"), 0);
    assert_int_equal(ami_action_add(login, "Events", "off"), 0);
    assert_int_equal(ami_action_create(&ping, "Ping"), 0);
    /* Login gets ID load-1; it is answered first (responses keep request
     * order), so the Pings may follow without waiting. */
    inflight lf = {0, 0, calloc(n + 2, sizeof(unsigned long)), n + 2, 0};
    assert_int_equal(ami_session_send(s, login, AMI_NO_DEADLINE, on_pong, &lf, NULL), 0);
    for (unsigned long i = 0; i < n; i++)
        assert_int_equal(ami_session_send(s, ping, AMI_NO_DEADLINE, on_pong, &f, NULL), 0);
    assert_int_equal(ami_session_pending_count(s), n + 1);

    double t0 = now_s();
    char buf[65536];
    while (f.done < n && now_s() - t0 < 30) {
        const char *out;
        size_t len;
        ami_session_output(s, &out, &len);
        struct pollfd p = {.fd = fd, .events = POLLIN | (len ? POLLOUT : 0)};
        assert_true(poll(&p, 1, 1000) >= 0);
        if (p.revents & POLLOUT) {
            ssize_t w = send(fd, out, len, MSG_NOSIGNAL);
            assert_true(w > 0);
            ami_session_consume(s, (size_t)w);
        }
        if (p.revents & (POLLIN | POLLHUP)) {
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            assert_true(r > 0);
            size_t off = 0;
            while (off < (size_t)r) {
                long used = ami_session_recv(s, buf + off, (size_t)r - off, 0);
                assert_true(used >= 0);
                off += (size_t)used;
                ami_packet *e;
                while (ami_session_next_event(s, &e) == 1)
                    ami_packet_free(e);
            }
        }
    }
    double secs = now_s() - t0;
    assert_int_equal(lf.done, 1);
    assert_int_equal(f.done, n);
    assert_int_equal(f.ok, n);
    assert_int_equal(f.twice, 0); /* so each of the n completed exactly once */
    assert_int_equal(ami_session_pending_count(s), 0);
    assert_int_equal(ami_session_unmatched_count(s), 0);
    printf("LOAD in flight: %lu Pings pending at once, all answered in %.3f s\n", n, secs);
    ami_session_free(s);
    ami_action_free(login);
    ami_action_free(ping);
    free(f.seen);
    free(lf.seen);
    close(fd);
    sim_process_stop(&sp);
}

/* ------------------------------------------------------------ many */

static void test_hundreds_of_connections(void **state)
{
    (void)state;
    unsigned long n = env_count("AMI_LOAD_CONNECTIONS", 300, 50);
    sim_process sp;
    assert_int_equal(sim_process_start(&sp, 0, NULL), 0);
    ami_client **cs = calloc(n, sizeof *cs);
    double t0 = now_s();
    /* All logged in and open at once, then each used in turn. */
    for (unsigned long i = 0; i < n; i++)
        cs[i] = login_to(sp.port);
    ami_action *ping = NULL;
    assert_int_equal(ami_action_create(&ping, "Ping"), 0);
    for (unsigned long i = 0; i < n; i++) {
        ami_result *r = NULL;
        assert_int_equal(ami_client_call(cs[i], ping, 5000, &r), 0);
        assert_string_equal(ami_packet_get(ami_result_response(r), "Ping"), "Pong");
        ami_result_free(r);
    }
    for (unsigned long i = 0; i < n; i++) {
        assert_int_equal(ami_client_logoff(cs[i], 5000), 0);
        ami_client_free(cs[i]);
    }
    printf("LOAD connections: %lu concurrent clients logged in, pinged and logged off in %.2f s, "
           "peak RSS %ld KiB\n",
           n, now_s() - t0, status_kib("VmHWM"));
    ami_action_free(ping);
    free(cs);
    sim_process_stop(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_firehose_constant_memory),
        cmocka_unit_test(test_thousand_in_flight),
        cmocka_unit_test(test_hundreds_of_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
