/*
 * Hostile and faulty peers through the blocking client: every case must end
 * in its documented result within its deadline, with bounded memory (peak
 * RSS of this process measured per case through /proc/self/clear_refs and
 * VmHWM), no crash and no pending action left. The last test prints the
 * table that docs/reliability.md quotes.
 *
 * Peers: ami-sim fault modes (a real server misbehaving), the scripted
 * server (exact bytes), and a flood server here that streams generated
 * bytes far past every limit (a 100 MiB line, a million headers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ami/client.h>

#include "script_server.h"
#include "sim_process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Memory a single case may add to the process's peak: the parser's limits
 * (1 MiB line, 32 MiB packet) plus slack. */
#define PEAK_BOUND_KIB (48 * 1024)

/* ASan's quarantine of freed blocks inflates RSS whatever the code does:
 * the memory bound only applies without it. */
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

/* Deadlines stretch under valgrind (it is ~30x slower); bounds do not go. */
static int slack(int ms)
{
    return under_valgrind() ? ms * 20 : ms;
}

/* ------------------------------------------------------------ measuring */

typedef struct row {
    char name[48];
    char result[80];
    long ms;
    long peak_kib;
} row;

static row rows[32];
static size_t nrows;

typedef struct probe {
    struct timespec t0;
    long rss0_kib;
} probe;

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

static void probe_start(probe *p)
{
    /* "5" resets VmHWM to the current RSS (Linux >= 4.0), so each case's
     * peak is its own. */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
    p->rss0_kib = status_kib("VmRSS");
    clock_gettime(CLOCK_MONOTONIC, &p->t0);
}

static long probe_ms(const probe *p)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - p->t0.tv_sec) * 1000L + (now.tv_nsec - p->t0.tv_nsec) / 1000000L;
}

static const char *code_name(int code)
{
    switch (code) {
    case 0:
        return "0 (ok)";
    case AMI_ERR_PROTOCOL:
        return "AMI_ERR_PROTOCOL";
    case AMI_ERR_LINE_LIMIT:
        return "AMI_ERR_LINE_LIMIT";
    case AMI_ERR_HEADER_LIMIT:
        return "AMI_ERR_HEADER_LIMIT";
    case AMI_ERR_BAD_BANNER:
        return "AMI_ERR_BAD_BANNER";
    case AMI_ERR_TIMEOUT:
        return "AMI_ERR_TIMEOUT";
    case AMI_ERR_DISCONNECTED:
        return "AMI_ERR_DISCONNECTED";
    default:
        return ami_strerror(code);
    }
}

/* Record the case and check its time and memory bounds. */
static void probe_end(const probe *p, const char *name, int code, int deadline_ms)
{
    long ms = probe_ms(p);
    long peak = status_kib("VmHWM") - p->rss0_kib;
    if (nrows < sizeof rows / sizeof rows[0]) {
        row *r = &rows[nrows++];
        snprintf(r->name, sizeof r->name, "%s", name);
        snprintf(r->result, sizeof r->result, "%s", code_name(code));
        r->ms = ms;
        r->peak_kib = peak < 0 ? 0 : peak;
    }
    if (ms > slack(deadline_ms))
        fail_msg("%s took %ld ms (deadline %d ms)", name, ms, slack(deadline_ms));
    if (!AMI_TEST_ASAN && peak > PEAK_BOUND_KIB)
        fail_msg("%s raised peak RSS by %ld KiB (bound %d KiB)", name, peak, PEAK_BOUND_KIB);
}

static void no_pending(ami_client *c)
{
    ami_session *s = ami_client_session(c);
    if (s)
        assert_int_equal(ami_session_pending_count(s), 0);
}

static ami_action *make_action(const char *name)
{
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, name), 0);
    return a;
}

/* Call `name` and expect `want`; frees whatever result comes back, after
 * checking it carries the same status. */
static void call_expect(ami_client *c, const char *name, int timeout_ms, int want)
{
    ami_action *a = make_action(name);
    ami_result *r = NULL;
    int rc = ami_client_call(c, a, timeout_ms, &r);
    if (rc != want)
        fail_msg("%s: got %s, want %s (%s)", name, ami_strerror(rc), ami_strerror(want),
                 ami_client_errmsg(c));
    if (r) {
        assert_int_equal(ami_result_status(r), want);
        ami_result_free(r);
    }
    ami_action_free(a);
    no_pending(c);
}

/* ------------------------------------------------------------ ami-sim */

static ami_client *sim_connect(sim_process *sp, const char *fault, int *connect_rc, int timeout)
{
    const char *extra[] = {"--fault", fault, "--trickle-delay", "1", NULL};
    assert_int_equal(sim_process_start(sp, 0, extra), 0);
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    *connect_rc = ami_client_connect(c, "127.0.0.1", sp->port, timeout);
    return c;
}

/* Login against a faulty sim; returns the login's code. */
static int sim_login(ami_client *c, int timeout)
{
    return ami_client_login(c, "admin", "amp111", AMI_LOGIN_PLAIN, "on", timeout);
}

static void test_sim_garbage(void **state)
{
    (void)state;
    sim_process sp;
    probe p;
    probe_start(&p);
    int rc;
    ami_client *c = sim_connect(&sp, "garbage", &rc, 2000);
    /* The banner is fine; the bytes after it break the framing, whether
     * they arrive with the banner or during the login. */
    if (rc == 0)
        rc = sim_login(c, 2000);
    /* Whichever call sees it, the precise reason is reported: connect
     * fails when the garbage shares the banner's read. */
    assert_int_equal(rc, AMI_ERR_PROTOCOL);
    assert_non_null(strstr(ami_client_errmsg(c), "protocol violation"));
    /* Later calls keep telling the same reason. */
    ami_action *ping;
    assert_int_equal(ami_action_create(&ping, "Ping"), 0);
    ami_result *res = NULL;
    assert_int_equal(ami_client_call(c, ping, 500, &res), AMI_ERR_PROTOCOL);
    ami_result_free(res);
    ami_action_free(ping);
    assert_non_null(strstr(ami_client_errmsg(c), "127.0.0.1"));
    no_pending(c);
    probe_end(&p, "garbage (NUL, high bytes, no colon, lone CR)", rc, 2000);
    ami_client_free(c);
    sim_process_stop(&sp);
}

static void test_sim_oversize_header(void **state)
{
    (void)state;
    sim_process sp;
    probe p;
    probe_start(&p);
    int rc;
    ami_client *c = sim_connect(&sp, "oversize-header", &rc, 2000);
    if (rc == 0)
        rc = sim_login(c, 5000);
    assert_int_equal(rc, AMI_ERR_LINE_LIMIT);
    no_pending(c);
    probe_end(&p, "endless header line (ami-sim)", rc, 5000);
    ami_client_free(c);
    sim_process_stop(&sp);
}

static void test_sim_no_banner(void **state)
{
    (void)state;
    sim_process sp;
    probe p;
    probe_start(&p);
    int rc;
    ami_client *c = sim_connect(&sp, "no-banner", &rc, 300);
    assert_int_equal(rc, AMI_ERR_TIMEOUT);
    assert_non_null(strstr(ami_client_errmsg(c), "no AMI banner"));
    probe_end(&p, "no banner (connect timeout 300 ms)", rc, 1000);
    ami_client_free(c);
    sim_process_stop(&sp);
}

static void test_sim_wrong_banner(void **state)
{
    (void)state;
    sim_process sp;
    probe p;
    probe_start(&p);
    int rc;
    ami_client *c = sim_connect(&sp, "wrong-banner", &rc, 2000);
    assert_int_equal(rc, AMI_ERR_BAD_BANNER);
    assert_non_null(strstr(ami_client_errmsg(c), "not an AMI server"));
    probe_end(&p, "wrong banner (SSH)", rc, 2000);
    ami_client_free(c);
    sim_process_stop(&sp);
}

static void test_sim_close_mid_packet(void **state)
{
    (void)state;
    sim_process sp;
    probe p;
    probe_start(&p);
    int rc;
    ami_client *c = sim_connect(&sp, "close-mid-packet", &rc, 2000);
    assert_int_equal(rc, 0);
    rc = sim_login(c, 5000);
    assert_int_equal(rc, AMI_ERR_DISCONNECTED);
    no_pending(c);
    probe_end(&p, "close mid-packet", rc, 2000);
    ami_client_free(c);
    sim_process_stop(&sp);
}

static void test_sim_stall(void **state)
{
    (void)state;
    sim_process sp;
    probe p;
    probe_start(&p);
    int rc;
    ami_client *c = sim_connect(&sp, "stall", &rc, 2000);
    assert_int_equal(rc, 0);
    rc = sim_login(c, 300);
    assert_int_equal(rc, AMI_ERR_TIMEOUT);
    no_pending(c);
    probe_end(&p, "stall (login timeout 300 ms)", rc, 1000);
    ami_client_free(c);
    sim_process_stop(&sp);
}

static void test_sim_trickle(void **state)
{
    (void)state;
    sim_process sp;
    probe p;
    probe_start(&p);
    int rc;
    ami_client *c = sim_connect(&sp, "trickle", &rc, 5000);
    assert_int_equal(rc, 0);
    rc = sim_login(c, 10000);
    assert_int_equal(rc, 0);
    call_expect(c, "Ping", 10000, 0);
    probe_end(&p, "trickle, 1 byte per write", rc, 20000);
    ami_client_free(c);
    sim_process_stop(&sp);
}

/* ------------------------------------------------------------ scripted */

#define RESP_OK "Response: Success\r\nActionID: %ID%\r\nMessage: Authentication accepted\r\n\r\n"
#define PONG    "Response: Success\r\nActionID: %ID%\r\nPing: Pong\r\n\r\n"

static ami_client *script_connect(script_server **ss, const ss_step *steps, size_t n)
{
    assert_int_equal(script_server_start(ss, AF_INET, steps, n), 0);
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    int rc = ami_client_connect(c, "127.0.0.1", script_server_port(*ss), 2000);
    if (rc != 0)
        fail_msg("connect: %s (%s)", ami_strerror(rc), ami_client_errmsg(c));
    return c;
}

static void test_nul_and_invalid_utf8(void **state)
{
    (void)state;
    /* Not errors: values are bytes with lengths, delivered exactly. */
    static const char ev[] = "Event: Hostile\r\nNul: a\0b\r\nUtf8: \xff\xc0\xaf\xed\xa0\x80\r\n"
                             "K\0ey: v\r\n\r\n";
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Login", RESP_OK), SS_SEND(ev),
                             SS_ACTION("Ping", PONG)};
    probe p;
    probe_start(&p);
    script_server *ss;
    ami_client *c = script_connect(&ss, steps, 4);
    assert_int_equal(ami_client_login(c, "u", "s", AMI_LOGIN_PLAIN, "on", 2000), 0);
    call_expect(c, "Ping", 2000, 0);
    ami_packet *e = NULL;
    assert_int_equal(ami_client_next_event(c, 2000, &e), 1);
    assert_int_equal(ami_packet_count(e), 4);
    const char *k, *v;
    size_t kl, vl;
    assert_int_equal(ami_packet_header(e, 1, &k, &kl, &v, &vl), 0);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "a\0b", 3);
    assert_int_equal(ami_packet_header(e, 2, &k, &kl, &v, &vl), 0);
    assert_int_equal(vl, 6);
    assert_memory_equal(v, "\xff\xc0\xaf\xed\xa0\x80", 6);
    assert_int_equal(ami_packet_header(e, 3, &k, &kl, &v, &vl), 0);
    assert_int_equal(kl, 4);
    assert_memory_equal(k, "K\0ey", 4);
    ami_packet_free(e);
    probe_end(&p, "NUL bytes and invalid UTF-8 in a packet", 0, 2000);
    ami_client_free(c);
    assert_int_equal(script_server_finish(ss), 0);
    script_server_free(ss);
}

static void test_events_before_login(void **state)
{
    (void)state;
    const ss_step steps[] = {
        SS_SEND(SS_BANNER "Event: Early\r\nN: 1\r\n\r\nEvent: Early\r\nN: 2\r\n\r\n"),
        SS_ACTION("Login", RESP_OK)};
    probe p;
    probe_start(&p);
    script_server *ss;
    ami_client *c = script_connect(&ss, steps, 2);
    assert_int_equal(ami_client_login(c, "u", "s", AMI_LOGIN_PLAIN, "on", 2000), 0);
    for (int i = 1; i <= 2; i++) {
        ami_packet *e = NULL;
        assert_int_equal(ami_client_next_event(c, 2000, &e), 1);
        assert_string_equal(ami_packet_event_name(e), "Early");
        assert_int_equal(atoi(ami_packet_get(e, "N")), i);
        ami_packet_free(e);
    }
    no_pending(c);
    probe_end(&p, "events before login (queued, login ok)", 0, 2000);
    ami_client_free(c);
    assert_int_equal(script_server_finish(ss), 0);
    script_server_free(ss);
}

static void test_unknown_and_duplicate_ids(void **state)
{
    (void)state;
    /* A response for an ID never sent, then the real one twice: the action
     * completes once with its own response; the others are unmatched and
     * delivered as events. */
    static const char reply[] = "Response: Success\r\nActionID: nobody-sent-this\r\n\r\n"
                                "Response: Success\r\nActionID: %ID%\r\nPing: Pong\r\n\r\n"
                                "Response: Error\r\nActionID: %ID%\r\nMessage: again\r\n\r\n";
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Ping", reply), SS_SLEEP(300)};
    probe p;
    probe_start(&p);
    script_server *ss;
    ami_client *c = script_connect(&ss, steps, 3);
    ami_action *a = make_action("Ping");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, a, 2000, &r), 0);
    assert_string_equal(ami_packet_get(ami_result_response(r), "Ping"), "Pong");
    ami_result_free(r);
    ami_action_free(a);
    int unmatched = 0;
    ami_packet *e = NULL;
    while (ami_client_next_event(c, 200, &e) == 1) {
        assert_int_equal(ami_packet_kind_of(e), AMI_PACKET_RESPONSE);
        unmatched++;
        ami_packet_free(e);
    }
    assert_int_equal(unmatched, 2);
    assert_int_equal(ami_session_unmatched_count(ami_client_session(c)), 2);
    no_pending(c);
    probe_end(&p, "unknown and duplicated ActionIDs", 0, 2000);
    ami_client_free(c);
    script_server_free(ss);
}

static void test_eventlist_never_completes(void **state)
{
    (void)state;
    static const char reply[] = "Response: Success\r\nActionID: %ID%\r\nEventList: start\r\n"
                                "Message: Channels will follow\r\n\r\n"
                                "Event: CoreShowChannel\r\nActionID: %ID%\r\nChannel: x\r\n\r\n";
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("CoreShowChannels", reply),
                             SS_SLEEP(2000)};
    probe p;
    probe_start(&p);
    script_server *ss;
    ami_client *c = script_connect(&ss, steps, 3);
    call_expect(c, "CoreShowChannels", 300, AMI_ERR_TIMEOUT);
    probe_end(&p, "EventList never completes (timeout 300 ms)", AMI_ERR_TIMEOUT, 1000);
    ami_client_free(c);
    script_server_free(ss);
}

/* ------------------------------------------------------------ flood */

/* Sends the banner, reads one action (for its ActionID), then streams a
 * head, `count` copies of a unit and a tail, stopping when the client goes
 * away. */
typedef struct flood {
    int lfd;
    unsigned port;
    pthread_t thread;
    const char *head, *unit, *tail;
    size_t count;
    size_t sent_units;
} flood;

static void send_all(int fd, const char *p, size_t n, int *ok)
{
    while (*ok && n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            *ok = 0;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void *flood_main(void *arg)
{
    flood *f = arg;
    struct pollfd pl = {.fd = f->lfd, .events = POLLIN};
    if (poll(&pl, 1, 5000) != 1)
        return NULL;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int ok = 1;
    send_all(fd, SS_BANNER, strlen(SS_BANNER), &ok);
    /* Wait for the action's blank line. */
    char in[4096];
    size_t got = 0;
    while (ok && got < sizeof in - 1) {
        ssize_t r = recv(fd, in + got, sizeof in - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        in[got] = '\0';
        if (strstr(in, "\r\n\r\n"))
            break;
    }
    const char *id = strstr(in, "ActionID: ");
    size_t idlen = id ? strcspn(id + 10, "\r\n") : 0;
    const char *mark = strstr(f->head, "%ID%");
    if (mark) {
        send_all(fd, f->head, (size_t)(mark - f->head), &ok);
        send_all(fd, id ? id + 10 : "", idlen, &ok);
        send_all(fd, mark + 4, strlen(mark + 4), &ok);
    } else {
        send_all(fd, f->head, strlen(f->head), &ok);
    }
    /* Units batched into 64 KiB writes. */
    char batch[65536];
    size_t ulen = strlen(f->unit), per = sizeof batch / ulen;
    for (size_t i = 0; i < per; i++)
        memcpy(batch + i * ulen, f->unit, ulen);
    while (ok && f->sent_units < f->count) {
        size_t k = f->count - f->sent_units < per ? f->count - f->sent_units : per;
        send_all(fd, batch, k * ulen, &ok);
        if (ok)
            f->sent_units += k;
    }
    send_all(fd, f->tail, strlen(f->tail), &ok);
    close(fd);
    return NULL;
}

static void flood_start(flood *f)
{
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 1), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, flood_main, f), 0);
}

static void flood_join(flood *f)
{
    pthread_join(f->thread, NULL);
    close(f->lfd);
}

static void flood_case(const char *name, const char *head, const char *unit, size_t count,
                       const char *tail, int want)
{
    flood f = {.head = head, .unit = unit, .tail = tail, .count = count};
    probe p;
    probe_start(&p);
    flood_start(&f);
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    assert_int_equal(ami_client_connect(c, "127.0.0.1", f.port, 2000), 0);
    call_expect(c, "Ping", slack(10000), want);
    /* The client must stop reading at the limit, not swallow the flood. */
    ami_client_free(c);
    flood_join(&f);
    /* Only a stream larger than any socket buffering can show that the
     * client stopped reading at the limit. */
    if (want != 0 && count * strlen(unit) > (size_t)64 << 20)
        assert_true(f.sent_units < count);
    probe_end(&p, name, want, 10000);
}

static void test_flood_100mib_line(void **state)
{
    (void)state;
    /* 100 MiB of one header value: 1600 units of 64 KiB. */
    static char unit[65537];
    memset(unit, 'A', 65536);
    flood_case("100 MiB header line", "Response: Success\r\nActionID: %ID%\r\nX-Big: ", unit, 1600,
               "\r\n\r\n", AMI_ERR_LINE_LIMIT);
}

static void test_flood_million_headers(void **state)
{
    (void)state;
    flood_case("a million headers in one packet", "Response: Success\r\nActionID: %ID%\r\n",
               "X: y\r\n", 1000000, "\r\n", AMI_ERR_HEADER_LIMIT);
}

static void test_flood_legit_after_lines(void **state)
{
    (void)state;
    /* Control: the same flood server with sizes under every limit works,
     * so the failures above are the limits, not the server. */
    flood_case("control: 1000 headers (under limits)", "Response: Success\r\nActionID: %ID%\r\n",
               "X: y\r\n", 1000, "\r\n", 0);
}

static void test_print_table(void **state)
{
    (void)state;
    printf("\n| case | result | time (ms) | peak RSS added (KiB) |\n| --- | --- | ---: | ---: |\n");
    for (size_t i = 0; i < nrows; i++)
        printf("| %s | %s | %ld | %ld |\n", rows[i].name, rows[i].result, rows[i].ms,
               rows[i].peak_kib);
    assert_true(nrows > 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_garbage),
        cmocka_unit_test(test_sim_oversize_header),
        cmocka_unit_test(test_sim_no_banner),
        cmocka_unit_test(test_sim_wrong_banner),
        cmocka_unit_test(test_sim_close_mid_packet),
        cmocka_unit_test(test_sim_stall),
        cmocka_unit_test(test_sim_trickle),
        cmocka_unit_test(test_nul_and_invalid_utf8),
        cmocka_unit_test(test_events_before_login),
        cmocka_unit_test(test_unknown_and_duplicate_ids),
        cmocka_unit_test(test_eventlist_never_completes),
        cmocka_unit_test(test_flood_100mib_line),
        cmocka_unit_test(test_flood_million_headers),
        cmocka_unit_test(test_flood_legit_after_lines),
        cmocka_unit_test(test_print_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
