/*
 * The blocking client against a scripted server on loopback: login bytes,
 * connect errors, banners, disconnects, timeouts, events, back-pressure and
 * a replayed capture.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ami/client.h>

#include "script_server.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define RESP_OK "Response: Success\r\nActionID: %ID%\r\nMessage: Authentication accepted\r\n\r\n"
#define GOODBYE "Response: Goodbye\r\nActionID: %ID%\r\nMessage: Thanks for all the fish.\r\n\r\n"
#define PONG                                                                                       \
    "Response: Success\r\nActionID: %ID%\r\nPing: Pong\r\nTimestamp: 1795748653.522955\r\n\r\n"

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000L + (now.tv_nsec - since->tv_nsec) / 1000000L;
}

static void start_clock(struct timespec *t)
{
    clock_gettime(CLOCK_MONOTONIC, t);
}

static script_server *start4(const ss_step *steps, size_t n)
{
    script_server *ss = NULL;
    assert_int_equal(script_server_start(&ss, AF_INET, steps, n), 0);
    return ss;
}

static ami_client *connect_to(script_server *ss, const char *host)
{
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    int rc = ami_client_connect(c, host, script_server_port(ss), 2000);
    if (rc != 0)
        fail_msg("connect: %s (%s)", ami_strerror(rc), ami_client_errmsg(c));
    return c;
}

static void finish_ok(script_server *ss)
{
    if (script_server_finish(ss) != 0)
        fail_msg("script server: %s", script_server_error(ss));
}

static void assert_action(script_server *ss, size_t i, const char *fmt)
{
    char expected[2048];
    const char *id = script_server_action_id(ss, i);
    assert_non_null(id);
    assert_true(id[0] != '\0');
    /* fmt holds one "%s" where the ActionID goes. */
    const char *slot = strstr(fmt, "%s");
    assert_non_null(slot);
    snprintf(expected, sizeof expected, "%.*s%s%s", (int)(slot - fmt), fmt, id, slot + 2);
    size_t len = 0;
    const char *got = script_server_action(ss, i, &len);
    assert_non_null(got);
    assert_string_equal(got, expected);
    assert_int_equal(len, strlen(expected));
}

static ami_action *make_action(const char *name)
{
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, name), 0);
    return a;
}

/* ------------------------------------------------------------------ md5 */

static void test_md5_key(void **state)
{
    (void)state;
    char key[33];
#ifdef AMI_HAVE_OPENSSL
    assert_int_equal(ami_md5_key("141417997", "amp111", key), 0);
    assert_string_equal(key, "750726dbc66cb1799f316b26b35ed481");
    /* The capture's client computed the same key. */
    size_t len = 0;
    char *sent = script_server_load_fixture("login_md5.sent", &len);
    assert_non_null(sent);
    assert_non_null(strstr(sent, "Key: 750726dbc66cb1799f316b26b35ed481\r\n"));
    free(sent);
#else
    assert_int_equal(ami_md5_key("141417997", "amp111", key), AMI_ERR_UNSUPPORTED);
#endif
    assert_int_equal(ami_md5_key(NULL, "x", key), AMI_ERR_INVALID);
}

/* ---------------------------------------------------------------- login */

static void test_plain_login_and_logoff(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Login", RESP_OK),
                             SS_ACTION("Logoff", GOODBYE)};
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    assert_string_equal(ami_session_banner(ami_client_session(c)), "Asterisk Call Manager/11.0.0");
    assert_true(ami_client_fd(c) >= 0);

    int rc = ami_client_login(c, "admin", "amp111", AMI_LOGIN_PLAIN, NULL, 2000);
    assert_int_equal(rc, 0);
    assert_int_equal(ami_client_logoff(c, 2000), 0);
    assert_int_equal(ami_client_fd(c), -1);

    /* After Goodbye the connection is closed cleanly, not broken. */
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, ping, 500, &r), AMI_ERR_CLOSED);
    assert_null(r);
    ami_packet *ev = NULL;
    assert_int_equal(ami_client_next_event(c, 100, &ev), AMI_ERR_CLOSED);
    assert_null(ev);
    ami_action_free(ping);
    ami_client_free(c);

    finish_ok(ss);
    assert_int_equal(script_server_action_count(ss), 2);
    assert_action(ss, 0,
                  "Action: Login\r\nActionID: %s\r\nUsername: admin\r\nSecret: amp111\r\n"
                  "Events: on\r\n\r\n");
    assert_action(ss, 1, "Action: Logoff\r\nActionID: %s\r\n\r\n");
    assert_string_not_equal(script_server_action_id(ss, 0), script_server_action_id(ss, 1));
    script_server_free(ss);
}

static void test_login_events_value(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Login", RESP_OK)};
    script_server *ss = start4(steps, 2);
    ami_client *c = connect_to(ss, "127.0.0.1");
    assert_int_equal(ami_client_login(c, "admin", "amp111", 0, "call,system", 2000), 0);
    ami_client_free(c);
    finish_ok(ss);
    assert_action(ss, 0,
                  "Action: Login\r\nActionID: %s\r\nUsername: admin\r\nSecret: amp111\r\n"
                  "Events: call,system\r\n\r\n");
    script_server_free(ss);
}

static void test_md5_login(void **state)
{
    (void)state;
#ifndef AMI_HAVE_OPENSSL
    skip();
#endif
    /* The server's answers are the capture's own packets. */
    size_t raw_len = 0, l0 = 0, l1 = 0;
    char *raw = script_server_load_fixture("login_md5.raw", &raw_len);
    assert_non_null(raw);
    const char *challenge = script_server_fixture_packet(raw, raw_len, 0, &l0);
    const char *accepted = script_server_fixture_packet(raw, raw_len, 1, &l1);
    assert_non_null(challenge);
    assert_non_null(accepted);
    const ss_step steps[] = {
        SS_SEND(SS_BANNER),
        {SS_OP_ACTION, challenge, l0, "Challenge", 0, 1},
        {SS_OP_ACTION, accepted, l1, "Login", 0, 1},
    };
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    int rc = ami_client_login(c, "admin", "amp111", AMI_LOGIN_MD5, "off", 2000);
    if (rc != 0)
        fail_msg("login: %s", ami_client_errmsg(c));
    ami_client_free(c);
    finish_ok(ss);
    free(raw);

    assert_action(ss, 0, "Action: Challenge\r\nActionID: %s\r\nAuthType: MD5\r\n\r\n");
    assert_action(ss, 1,
                  "Action: Login\r\nActionID: %s\r\nAuthType: MD5\r\nUsername: admin\r\n"
                  "Key: 750726dbc66cb1799f316b26b35ed481\r\nEvents: off\r\n\r\n");
    script_server_free(ss);
}

/* One challenge limit for both clients (login.c): AMI__CHALLENGE_MAX = 256
 * bytes is accepted and its key sent; one byte more is refused before any
 * Login goes out. */
static void md5_with_challenge(size_t len)
{
    char challenge[300];
    memset(challenge, '7', len);
    challenge[len] = '\0';
    char reply[512];
    int n = snprintf(reply, sizeof reply,
                     "Response: Success\r\nActionID: %%ID%%\r\nChallenge: %s\r\n\r\n", challenge);
    assert_true(n > 0 && (size_t)n < sizeof reply);
    const ss_step steps[] = {
        SS_SEND(SS_BANNER),
        {SS_OP_ACTION, reply, (size_t)n, "Challenge", 0, 0},
        SS_ACTION("Login", RESP_OK),
    };
    int accepted = len <= 256;
    script_server *ss = start4(steps, accepted ? 3 : 2);
    ami_client *c = connect_to(ss, "127.0.0.1");
    int rc = ami_client_login(c, "admin", "amp111", AMI_LOGIN_MD5, "off", 2000);
    if (accepted) {
        if (rc != 0)
            fail_msg("login: %s", ami_client_errmsg(c));
    } else {
        assert_int_equal(rc, AMI_ERR_PROTOCOL);
        assert_non_null(strstr(ami_client_errmsg(c), "no usable Challenge"));
    }
    ami_client_free(c);
    finish_ok(ss);
    assert_int_equal(script_server_action_count(ss), accepted ? 2 : 1);
    if (accepted) {
        char key[33], want[256];
        assert_int_equal(ami_md5_key(challenge, "amp111", key), 0);
        snprintf(want, sizeof want,
                 "Action: Login\r\nActionID: %%s\r\nAuthType: MD5\r\nUsername: admin\r\n"
                 "Key: %s\r\nEvents: off\r\n\r\n",
                 key);
        assert_action(ss, 1, want);
    }
    script_server_free(ss);
}

static void test_md5_challenge_limit(void **state)
{
    (void)state;
#ifndef AMI_HAVE_OPENSSL
    skip();
#endif
    md5_with_challenge(256);
    md5_with_challenge(257);
}

static void test_bad_secret(void **state)
{
    (void)state;
    size_t raw_len = 0, l0 = 0;
    char *raw = script_server_load_fixture("login_fail.raw", &raw_len);
    assert_non_null(raw);
    const char *refused = script_server_fixture_packet(raw, raw_len, 0, &l0);
    assert_non_null(refused);
    const ss_step steps[] = {
        SS_SEND(SS_BANNER),
        {SS_OP_ACTION, refused, l0, "Login", 0, 1},
        SS_CLOSE(),
    };
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    int rc = ami_client_login(c, "admin", "wrong-secret", 0, NULL, 2000);
    assert_int_equal(rc, AMI_ERR_AUTH);
    char expected[256];
    snprintf(expected, sizeof expected,
             "authentication failed for user 'admin' on 127.0.0.1:%u: Authentication failed",
             script_server_port(ss));
    assert_string_equal(ami_client_errmsg(c), expected);
    assert_null(strstr(ami_client_errmsg(c), "wrong-secret"));

    /* The server hangs up after refusing: the next wait sees it. */
    ami_packet *ev = NULL;
    assert_int_equal(ami_client_next_event(c, 2000, &ev), AMI_ERR_DISCONNECTED);
    assert_null(strstr(ami_client_errmsg(c), "wrong-secret"));
    ami_client_free(c);
    finish_ok(ss);
    free(raw);
    script_server_free(ss);
}

/* -------------------------------------------------------------- connect */

static void test_refused(void **state)
{
    (void)state;
    unsigned port = script_server_closed_port(AF_INET);
    assert_true(port != 0);
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    assert_int_equal(ami_client_connect(c, "127.0.0.1", port, 2000), AMI_ERR_REFUSED);
    char expected[200];
    snprintf(expected, sizeof expected,
             "connect to 127.0.0.1:%u failed: Connection refused (is Asterisk running and is "
             "manager.conf enabled?)",
             port);
    assert_string_equal(ami_client_errmsg(c), expected);
    assert_int_equal(ami_client_fd(c), -1);
    ami_client_free(c);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    assert_int_equal(ami_client_connect(c, NULL, 5038, 100), AMI_ERR_INVALID);
    assert_int_equal(ami_client_connect(c, "127.0.0.1", 0, 100), AMI_ERR_INVALID);
    assert_int_equal(ami_client_connect(c, "127.0.0.1", 70000, 100), AMI_ERR_INVALID);
    assert_int_equal(ami_client_connect(c, "[]", 5038, 100), AMI_ERR_INVALID);
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, ping, 100, &r), AMI_ERR_STATE);
    assert_int_equal(ami_client_login(c, "a", "b", 0, NULL, 100), AMI_ERR_STATE);
    assert_int_equal(ami_client_call(c, NULL, 100, &r), AMI_ERR_INVALID);
    ami_packet *ev = NULL;
    assert_int_equal(ami_client_next_event(c, 0, &ev), AMI_ERR_STATE);
    ami_action_free(ping);
    ami_client_free(c);
    ami_client_free(NULL);
}

static void ipv6_login(const char *host)
{
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Login", RESP_OK),
                             SS_ACTION("Logoff", GOODBYE)};
    script_server *ss = NULL;
    if (script_server_start(&ss, AF_INET6, steps, 3) != 0)
        skip();
    ami_client *c = connect_to(ss, host);
    assert_int_equal(ami_client_login(c, "admin", "amp111", 0, NULL, 2000), 0);
    assert_int_equal(ami_client_logoff(c, 2000), 0);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

static void test_ipv6_bracketed(void **state)
{
    (void)state;
    ipv6_login("[::1]");
}

static void test_ipv6_bare(void **state)
{
    (void)state;
    ipv6_login("::1");
}

static void test_eof_before_banner(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_CLOSE()};
    script_server *ss = start4(steps, 1);
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    assert_int_equal(ami_client_connect(c, "127.0.0.1", script_server_port(ss), 2000),
                     AMI_ERR_EOF_BANNER);
    assert_non_null(strstr(ami_client_errmsg(c), "before sending its banner"));
    assert_int_equal(ami_client_fd(c), -1);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

static void test_bad_banner(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), SS_SLEEP(3000)};
    script_server *ss = start4(steps, 2);
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    struct timespec t0;
    start_clock(&t0);
    assert_int_equal(ami_client_connect(c, "127.0.0.1", script_server_port(ss), 2000),
                     AMI_ERR_BAD_BANNER);
    /* Detected from the line itself, not by waiting for the timeout. */
    assert_true(elapsed_ms(&t0) < 1000);
    assert_non_null(strstr(ami_client_errmsg(c), "is not an AMI server"));
    assert_int_equal(ami_client_fd(c), -1);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

static void test_banner_timeout(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SLEEP(3000)};
    script_server *ss = start4(steps, 1);
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    struct timespec t0;
    start_clock(&t0);
    assert_int_equal(ami_client_connect(c, "127.0.0.1", script_server_port(ss), 200),
                     AMI_ERR_TIMEOUT);
    long ms = elapsed_ms(&t0);
    assert_true(ms >= 190 && ms < 1000);
    assert_non_null(strstr(ami_client_errmsg(c), "no AMI banner"));
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

static void test_reconnect(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Logoff", GOODBYE)};
    script_server *a = start4(steps, 2);
    script_server *b = start4(steps, 2);
    ami_client *c = connect_to(a, "127.0.0.1");
    assert_int_equal(ami_client_connect(c, "127.0.0.1", 1, 100), AMI_ERR_STATE);
    assert_int_equal(ami_client_logoff(c, 2000), 0);
    assert_int_equal(ami_client_connect(c, "localhost", script_server_port(b), 2000), 0);
    assert_int_equal(ami_client_logoff(c, 2000), 0);
    ami_client_free(c);
    finish_ok(a);
    finish_ok(b);
    script_server_free(a);
    script_server_free(b);
}

static void test_resolve_failure(void **state)
{
    (void)state;
    /* .invalid never resolves (RFC 6761); without DNS the lookup fails too. */
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    assert_int_equal(ami_client_connect(c, "no-such-host.invalid", 5038, 2000), AMI_ERR_RESOLVE);
    assert_non_null(strstr(ami_client_errmsg(c), "cannot resolve host 'no-such-host.invalid'"));
    ami_client_free(c);
}

/* ------------------------------------------------------- calls and I/O */

static void test_close_mid_packet(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Ping", "Response: Succ"), SS_CLOSE()};
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    struct timespec t0;
    start_clock(&t0);
    assert_int_equal(ami_client_call(c, ping, 5000, &r), AMI_ERR_DISCONNECTED);
    assert_true(elapsed_ms(&t0) < 2000);
    char expected[128];
    snprintf(expected, sizeof expected, "connection to 127.0.0.1:%u closed by the server",
             script_server_port(ss));
    assert_non_null(strstr(ami_client_errmsg(c), expected));
    if (r) {
        assert_int_equal(ami_result_status(r), AMI_ERR_DISCONNECTED);
        assert_null(ami_result_response(r));
        ami_result_free(r);
    }
    /* Later calls fail at once. */
    assert_int_equal(ami_client_call(c, ping, 5000, &r), AMI_ERR_DISCONNECTED);
    assert_null(r);
    ami_action_free(ping);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

static void test_never_answers(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Ping", ""), SS_SLEEP(3000)};
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    struct timespec t0;
    start_clock(&t0);
    assert_int_equal(ami_client_call(c, ping, 300, &r), AMI_ERR_TIMEOUT);
    long ms = elapsed_ms(&t0);
    assert_true(ms >= 290 && ms < 1000);
    if (r) {
        assert_int_equal(ami_result_status(r), AMI_ERR_TIMEOUT);
        ami_result_free(r);
    }
    char expected[128];
    snprintf(expected, sizeof expected, "no response to Ping from 127.0.0.1:%u within 300 ms",
             script_server_port(ss));
    assert_string_equal(ami_client_errmsg(c), expected);
    assert_int_equal(ami_session_pending_count(ami_client_session(c)), 0);
    ami_action_free(ping);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

#define EVENTS_AND_PONG                                                                            \
    "Event: First\r\nPrivilege: system,all\r\nN: 1\r\n\r\n"                                        \
    "Event: Second\r\nPrivilege: system,all\r\nN: 2\r\n\r\n" PONG                                  \
    "Event: Third\r\nPrivilege: system,all\r\nN: 3\r\n\r\n"

static void expect_event(ami_client *c, const char *name)
{
    ami_packet *ev = NULL;
    int rc = ami_client_next_event(c, 2000, &ev);
    if (rc != 1)
        fail_msg("next_event: %d (%s)", rc, ami_client_errmsg(c));
    assert_string_equal(ami_packet_event_name(ev), name);
    ami_packet_free(ev);
}

static void test_events_during_call(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Ping", EVENTS_AND_PONG),
                             SS_SLEEP(3000)};
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, ping, 2000, &r), 0);
    assert_string_equal(ami_packet_get(ami_result_response(r), "Ping"), "Pong");
    ami_result_free(r);
    expect_event(c, "First");
    expect_event(c, "Second");
    expect_event(c, "Third");
    ami_packet *ev = NULL;
    struct timespec t0;
    start_clock(&t0);
    assert_int_equal(ami_client_next_event(c, 150, &ev), 0);
    assert_null(ev);
    long ms = elapsed_ms(&t0);
    assert_true(ms >= 140 && ms < 1000);
    ami_action_free(ping);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

static void test_event_after_call(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Ping", PONG), SS_SLEEP(100),
                             SS_SEND("Event: Later\r\nPrivilege: call,all\r\n\r\n"),
                             SS_SLEEP(3000)};
    script_server *ss = start4(steps, 5);
    ami_client *c = connect_to(ss, "127.0.0.1");
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, ping, 2000, &r), 0);
    ami_result_free(r);
    expect_event(c, "Later");
    ami_action_free(ping);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

struct seen {
    char names[8][32];
    int count;
};

static void record_event(ami_session *s, const ami_packet *ev, void *user_data)
{
    (void)s;
    struct seen *seen = user_data;
    if (seen->count < 8)
        snprintf(seen->names[seen->count++], 32, "%s", ami_packet_event_name(ev));
}

static void test_event_callback(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Ping", EVENTS_AND_PONG),
                             SS_SLEEP(3000)};
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    struct seen seen = {.count = 0};
    ami_client_set_event_cb(c, record_event, &seen);
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, ping, 2000, &r), 0);
    ami_result_free(r);
    assert_int_equal(seen.count, 3);
    assert_string_equal(seen.names[0], "First");
    assert_string_equal(seen.names[1], "Second");
    assert_string_equal(seen.names[2], "Third");
    assert_int_equal(ami_session_queued_events(ami_client_session(c)), 0);
    ami_action_free(ping);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

struct reentry {
    ami_client *client;
    int call_rc, next_rc, calls;
};

static void call_from_callback(ami_session *s, const ami_packet *ev, void *user_data)
{
    (void)s;
    (void)ev;
    struct reentry *re = user_data;
    ami_action *a = make_action("Ping");
    ami_result *r = NULL;
    ami_packet *p = NULL;
    re->call_rc = ami_client_call(re->client, a, 100, &r);
    re->next_rc = ami_client_next_event(re->client, 0, &p);
    re->calls++;
    ami_result_free(r);
    ami_packet_free(p);
    ami_action_free(a);
}

static void test_no_blocking_calls_in_callback(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Ping", EVENTS_AND_PONG),
                             SS_SLEEP(3000)};
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    struct reentry re = {c, 0, 0, 0};
    ami_client_set_event_cb(c, call_from_callback, &re);
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, ping, 2000, &r), 0);
    ami_result_free(r);
    assert_int_equal(re.calls, 3);
    assert_int_equal(re.call_rc, AMI_ERR_STATE);
    assert_int_equal(re.next_rc, AMI_ERR_STATE);
    ami_action_free(ping);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

struct outcome {
    int status;
    int calls;
};

static void keep_status(ami_session *s, ami_result *r, void *user_data)
{
    (void)s;
    struct outcome *o = user_data;
    o->status = ami_result_status(r);
    o->calls++;
    ami_result_free(r);
}

static void test_close_fails_pending(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_SLEEP(3000)};
    script_server *ss = start4(steps, 2);
    ami_client *c = connect_to(ss, "127.0.0.1");
    ami_action *ping = make_action("Ping");
    struct outcome o = {0, 0};
    assert_int_equal(
        ami_session_send(ami_client_session(c), ping, AMI_NO_DEADLINE, keep_status, &o, NULL), 0);
    ami_client_close(c);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.status, AMI_ERR_DISCONNECTED);
    assert_int_equal(ami_client_fd(c), -1);
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, ping, 100, &r), AMI_ERR_DISCONNECTED);
    ami_action_free(ping);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

static void close_on_event(ami_session *s, const ami_packet *ev, void *user_data)
{
    (void)s;
    (void)ev;
    ami_client_close(user_data);
}

static void test_close_inside_callback(void **state)
{
    (void)state;
    /* The response never comes: only the close can end the call early. */
    const ss_step steps[] = {SS_SEND(SS_BANNER),
                             SS_ACTION("Ping", "Event: Bye\r\nPrivilege: system,all\r\n\r\n"),
                             SS_SLEEP(3000)};
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    ami_client_set_event_cb(c, close_on_event, c);
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    struct timespec t0;
    start_clock(&t0);
    assert_int_equal(ami_client_call(c, ping, 2000, &r), AMI_ERR_DISCONNECTED);
    assert_true(elapsed_ms(&t0) < 1000);
    assert_int_equal(ami_client_fd(c), -1);
    ami_result_free(r);
    ami_action_free(ping);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

static void test_queue_full(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Ping", EVENTS_AND_PONG),
                             SS_SLEEP(3000)};
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    ami_session_set_queue_limits(ami_client_session(c), 1, 1u << 20);
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, ping, 2000, &r), AMI_ERR_QUEUE_FULL);
    assert_non_null(strstr(ami_client_errmsg(c), "event queue full"));
    assert_null(strstr(ami_client_errmsg(c), "ami_")); /* words, not API advice */
    ami_result_free(r);
    assert_int_equal(ami_session_pending_count(ami_client_session(c)), 0);
    /* Nothing was lost: the held-back bytes follow as the queue drains,
     * and the cancelled action's late response comes as unmatched. */
    expect_event(c, "First");
    expect_event(c, "Second");
    ami_packet *p = NULL;
    assert_int_equal(ami_client_next_event(c, 2000, &p), 1);
    assert_string_equal(ami_packet_get(p, "Ping"), "Pong");
    ami_packet_free(p);
    expect_event(c, "Third");
    ami_action_free(ping);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

static void test_trickled_bytes(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_TRICKLE(SS_BANNER, 1), SS_ACTION("Ping", ""), SS_TRICKLE(PONG, 1),
                             SS_SLEEP(3000)};
    script_server *ss = start4(steps, 4);
    ami_client *c = connect_to(ss, "127.0.0.1");
    ami_action *ping = make_action("Ping");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, ping, 5000, &r), 0);
    const ami_packet *resp = ami_result_response(r);
    assert_string_equal(ami_packet_get(resp, "Ping"), "Pong");
    assert_string_equal(ami_packet_get(resp, "Timestamp"), "1795748653.522955");
    ami_result_free(r);
    ami_action_free(ping);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

static void test_server_goodbye_then_eof(void **state)
{
    (void)state;
    /* Goodbye answered, then the server closes: later waits say CLOSED. */
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Logoff", GOODBYE), SS_CLOSE()};
    script_server *ss = start4(steps, 3);
    ami_client *c = connect_to(ss, "127.0.0.1");
    ami_action *logoff = make_action("Logoff");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, logoff, 2000, &r), 0);
    assert_int_equal(ami_packet_response_type(ami_result_response(r)), AMI_RESPONSE_GOODBYE);
    ami_result_free(r);
    ami_packet *ev = NULL;
    assert_int_equal(ami_client_next_event(c, 2000, &ev), AMI_ERR_CLOSED);
    ami_action_free(logoff);
    ami_client_free(c);
    finish_ok(ss);
    script_server_free(ss);
}

/* -------------------------------------------------------- fixture replay */

static void test_listcommands_fixture(void **state)
{
    (void)state;
    size_t raw_len = 0, l0 = 0, l1 = 0, l2 = 0;
    char *raw = script_server_load_fixture("listcommands.raw", &raw_len);
    assert_non_null(raw);
    const char *login = script_server_fixture_packet(raw, raw_len, 0, &l0);
    const char *list = script_server_fixture_packet(raw, raw_len, 1, &l1);
    const char *bye = script_server_fixture_packet(raw, raw_len, 2, &l2);
    assert_non_null(login);
    assert_non_null(list);
    assert_non_null(bye);
    const ss_step steps[] = {
        SS_SEND(SS_BANNER),
        {SS_OP_ACTION, login, l0, "Login", 0, 1},
        {SS_OP_ACTION, list, l1, "ListCommands", 0, 1},
        {SS_OP_ACTION, bye, l2, "Logoff", 0, 1},
    };
    script_server *ss = start4(steps, 4);
    ami_client *c = connect_to(ss, "127.0.0.1");
    assert_int_equal(ami_client_login(c, "admin", "amp111", 0, NULL, 2000), 0);
    ami_action *a = make_action("ListCommands");
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, a, 2000, &r), 0);
    const ami_packet *resp = ami_result_response(r);
    assert_non_null(resp);
    assert_string_equal(ami_packet_get(resp, "AbsoluteTimeout"),
                        "Set absolute timeout.  (Priv: system,call,all)");

    /* Every line of the capture, split at its first ": ", is a header of
     * the response with that exact value. */
    size_t lines = 0;
    for (const char *p = list; p < list + l1;) {
        const char *eol = strstr(p, "\r\n");
        if (eol == p)
            break;
        const char *colon = strstr(p, ": ");
        assert_true(colon && colon < eol);
        char key[128], value[1024];
        snprintf(key, sizeof key, "%.*s", (int)(colon - p), p);
        snprintf(value, sizeof value, "%.*s", (int)(eol - colon - 2), colon + 2);
        if (strcmp(key, "ActionID") != 0)
            assert_string_equal(ami_packet_get(resp, key), value);
        lines++;
        p = eol + 2;
    }
    assert_int_equal(lines, 90); /* Response, ActionID and 88 actions */
    assert_int_equal(ami_packet_count(resp), lines);
    ami_result_free(r);
    ami_action_free(a);
    assert_int_equal(ami_client_logoff(c, 2000), 0);
    ami_client_free(c);
    finish_ok(ss);
    free(raw);
    script_server_free(ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_key),
        cmocka_unit_test(test_plain_login_and_logoff),
        cmocka_unit_test(test_login_events_value),
        cmocka_unit_test(test_md5_login),
        cmocka_unit_test(test_md5_challenge_limit),
        cmocka_unit_test(test_bad_secret),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_ipv6_bracketed),
        cmocka_unit_test(test_ipv6_bare),
        cmocka_unit_test(test_resolve_failure),
        cmocka_unit_test(test_eof_before_banner),
        cmocka_unit_test(test_bad_banner),
        cmocka_unit_test(test_banner_timeout),
        cmocka_unit_test(test_reconnect),
        cmocka_unit_test(test_close_mid_packet),
        cmocka_unit_test(test_never_answers),
        cmocka_unit_test(test_events_during_call),
        cmocka_unit_test(test_event_after_call),
        cmocka_unit_test(test_event_callback),
        cmocka_unit_test(test_no_blocking_calls_in_callback),
        cmocka_unit_test(test_close_fails_pending),
        cmocka_unit_test(test_close_inside_callback),
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_trickled_bytes),
        cmocka_unit_test(test_server_goodbye_then_eof),
        cmocka_unit_test(test_listcommands_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
