/*
 * The event-loop client over TLS (poll adapter) against `ami-sim
 * --tls-cert/--tls-key`: the handshake runs inside the loop; a good
 * certificate logs in and answers Ping and Command; a wrong host name or an
 * unknown CA stops the handle with AMI_ERR_TLS_VERIFY's message; verify
 * off works when asked for; client certificates; a 50000-event firehose
 * arrives complete (what OpenSSL buffers must not wait for poll()). Also:
 * ami_async_start refuses to run events into no callback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ami/adapters/poll.h>
#include <ami/async.h>

#include "sim_process.h"
#include "tls_ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    ami_async *a;
    int up;
    int stopped;
    ami_async_reason last_reason;
    unsigned long events;
    int done; /* SimDone seen */
    char count[32];
    int results;
    ami_result *ping;
    ami_result *command;
} ctx;

static void on_event(ami_async *a, const ami_packet *ev, void *ud)
{
    (void)a;
    ctx *c = ud;
    const char *name = ami_packet_event_name(ev);
    if (!name)
        return;
    if (strcmp(name, "SimDone") == 0) {
        const char *n = ami_packet_get(ev, "Count");
        snprintf(c->count, sizeof c->count, "%s", n ? n : "");
        c->done = 1;
    } else if (strcmp(name, "Newchannel") == 0 || strcmp(name, "Newstate") == 0 ||
               strcmp(name, "VarSet") == 0) {
        c->events++;
    }
}

#ifdef AMI_HAVE_OPENSSL

static void on_state(ami_async *a, ami_async_state st, ami_async_reason why, void *ud)
{
    (void)a;
    ctx *c = ud;
    c->last_reason = why;
    if (st == AMI_ASYNC_UP)
        c->up = 1;
    if (st == AMI_ASYNC_STOPPED)
        c->stopped = 1;
}

static void on_ping(ami_async *a, ami_result *r, void *ud)
{
    (void)a;
    ctx *c = ud;
    c->ping = r;
    c->results++;
}

static void on_command(ami_async *a, ami_result *r, void *ud)
{
    (void)a;
    ctx *c = ud;
    c->command = r;
    c->results++;
}

static int is_up(void *ud)
{
    ctx *c = ud;
    return c->up || c->stopped;
}

static int is_stopped(void *ud)
{
    return ((ctx *)ud)->stopped;
}

static int has_results(void *ud)
{
    return ((ctx *)ud)->results == 2;
}

static int has_done(void *ud)
{
    ctx *c = ud;
    return c->done || c->stopped;
}

static tls_ca ca;

static int setup_ca(void **state)
{
    (void)state;
    return tls_ca_create(&ca);
}

static int teardown_ca(void **state)
{
    (void)state;
    tls_ca_destroy(&ca);
    return 0;
}

static void start_sim(sim_process *sp, const char *cert, const char *key, const char *client_ca,
                      const char *firehose)
{
    assert_int_equal(tls_sim_start(sp, cert, key, client_ca, firehose), 0);
}

/* A handle for host:port over TLS; cfg is freed here (the handle copies). */
static void make(ctx *c, const char *host, unsigned port, ami_tls_config *cfg, const char *events)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(ami_async_create(&c->a), 0);
    assert_int_equal(ami_async_set_server(c->a, host, port), 0);
    assert_int_equal(ami_async_set_login(c->a, "admin", "amp111", AMI_LOGIN_MD5), 0);
    assert_int_equal(ami_async_set_tls(c->a, cfg), 0);
    ami_tls_config_free(cfg);
    assert_int_equal(ami_async_set_events(c->a, events), 0);
    ami_async_set_event_cb(c->a, on_event, c);
    ami_async_set_state_cb(c->a, on_state, c);
    ami_async_set_reconnect(c->a, 0, 0, 0, 0);
    /* Generous: a TLS handshake under valgrind on a loaded machine can take
     * seconds. */
    ami_async_set_timeouts(c->a, 30000, 30000);
    assert_int_equal(ami_async_start(c->a), 0);
}

/* A config trusting `cafile`, with an optional server name. */
static ami_tls_config *config(const char *cafile, const char *server_name)
{
    ami_tls_config *cfg = tls_test_config(cafile, server_name);
    assert_non_null(cfg);
    return cfg;
}

static void run_until(ctx *c, int (*cond)(void *), int timeout_ms)
{
    ami_async *hs[1] = {c->a};
    if (ami_poll_loop(hs, 1, timeout_ms, cond, c) != 1)
        fail_msg("condition not reached in %d ms: state %s, %s", timeout_ms,
                 ami_async_state_name(ami_async_get_state(c->a)), ami_async_errmsg(c->a));
}

static void expect_up_and_working(ctx *c)
{
    run_until(c, is_up, 60000);
    if (!c->up)
        fail_msg("not up: %s", ami_async_errmsg(c->a));
    ami_action *ping = NULL;
    ami_action *cmd = NULL;
    assert_int_equal(ami_action_create(&ping, "Ping"), 0);
    assert_int_equal(ami_action_create(&cmd, "Command"), 0);
    assert_int_equal(ami_action_add(cmd, "Command", "core show version"), 0);
    assert_int_equal(ami_async_send(c->a, ping, 30000, on_ping, c, NULL), 0);
    assert_int_equal(ami_async_send(c->a, cmd, 30000, on_command, c, NULL), 0);
    ami_action_free(ping);
    ami_action_free(cmd);
    run_until(c, has_results, 60000);
    assert_int_equal(ami_result_status(c->ping), 0);
    assert_string_equal(ami_packet_get(ami_result_response(c->ping), "Ping"), "Pong");
    assert_int_equal(ami_result_status(c->command), 0);
    assert_true(ami_result_output_count(c->command) >= 1);
    size_t len = 0;
    assert_non_null(strstr(ami_result_output_line(c->command, 0, &len), "Asterisk"));
    ami_result_free(c->ping);
    ami_result_free(c->command);
    assert_int_equal(ami_async_logoff(c->a), 0);
    run_until(c, is_stopped, 60000);
    assert_int_equal(c->last_reason, AMI_ASYNC_REASON_GOODBYE);
}

static void test_good_certificate(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.server_cert, ca.server_key, NULL, NULL);
    const char *hosts[] = {"localhost", "127.0.0.1"};
    for (size_t i = 0; i < 2; i++) {
        ctx c;
        make(&c, hosts[i], sp.port, config(ca.ca, NULL), "on");
        expect_up_and_working(&c);
        ami_async_free(c.a);
    }
    sim_process_stop(&sp);
}

/* The handle stops (no retry against a certificate that failed) and says
 * why. */
static void expect_verify_stop(ctx *c, unsigned port, const char *reason)
{
    run_until(c, is_stopped, 60000);
    assert_false(c->up);
    assert_int_equal(c->last_reason, AMI_ASYNC_REASON_CONNECT);
    char where[64];
    snprintf(where, sizeof where, "TLS certificate of 127.0.0.1:%u did not verify: ", port);
    const char *msg = ami_async_errmsg(c->a);
    if (!strstr(msg, where) || !strstr(msg, reason))
        fail_msg("unexpected message: %s", msg);
    assert_int_equal(ami_async_fd(c->a), -1);
    /* The cause is also available as a code, without parsing the text. */
    assert_int_equal(ami_async_last_error(c->a), AMI_ERR_TLS_VERIFY);
}

static void test_wrong_host_name(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.server_cert, ca.server_key, NULL, NULL);
    ctx c;
    make(&c, "127.0.0.1", sp.port, config(ca.ca, "wrong.example"), "on");
    expect_verify_stop(&c, sp.port, "hostname mismatch");
    ami_async_free(c.a);
    sim_process_stop(&sp);

    start_sim(&sp, ca.dns_cert, ca.dns_key, NULL, NULL);
    make(&c, "127.0.0.1", sp.port, config(ca.ca, NULL), "on");
    expect_verify_stop(&c, sp.port, "IP address mismatch");
    ami_async_free(c.a);
    sim_process_stop(&sp);
}

static void test_unknown_ca(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.other_cert, ca.other_key, NULL, NULL);
    ctx c;
    make(&c, "127.0.0.1", sp.port, config(ca.ca, NULL), "on");
    expect_verify_stop(&c, sp.port, "local issuer certificate");
    assert_null(strstr(ami_async_errmsg(c.a), "ami_")); /* no API advice for users */
    ami_async_free(c.a);

    ami_tls_config *cfg = config(ca.ca, "wrong.example");
    assert_int_equal(ami_tls_config_set_verify(cfg, 0), 0);
    make(&c, "127.0.0.1", sp.port, cfg, "on");
    expect_up_and_working(&c);
    ami_async_free(c.a);
    sim_process_stop(&sp);
}

static void test_client_certificate(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.server_cert, ca.server_key, ca.ca, NULL);
    ami_tls_config *cfg = config(ca.ca, NULL);
    assert_int_equal(ami_tls_config_set_cert(cfg, ca.client_cert, ca.client_key), 0);
    ctx c;
    make(&c, "localhost", sp.port, cfg, "on");
    expect_up_and_working(&c);
    ami_async_free(c.a);

    make(&c, "localhost", sp.port, config(ca.ca, NULL), "on");
    run_until(&c, is_stopped, 60000);
    assert_false(c.up);
    if (!strstr(ami_async_errmsg(c.a), "certificate required"))
        fail_msg("unexpected message: %s", ami_async_errmsg(c.a));
    ami_async_free(c.a);
    sim_process_stop(&sp);
}

static void test_plain_server(void **state)
{
    (void)state;
    sim_process sp;
    assert_int_equal(sim_process_start(&sp, 0, NULL), 0);
    ctx c;
    make(&c, "127.0.0.1", sp.port, config(ca.ca, NULL), "on");
    run_until(&c, is_stopped, 60000);
    assert_int_equal(c.last_reason, AMI_ASYNC_REASON_CONNECT);
    if (!strstr(ami_async_errmsg(c.a), "TLS port"))
        fail_msg("unexpected message: %s", ami_async_errmsg(c.a));
    ami_async_free(c.a);
    sim_process_stop(&sp);
}

static void test_firehose(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.server_cert, ca.server_key, NULL, "50000");
    ctx c;
    make(&c, "localhost", sp.port, config(ca.ca, NULL), "on");
    run_until(&c, has_done, 120000);
    assert_false(c.stopped);
    assert_string_equal(c.count, "50000");
    assert_int_equal(c.events, 50000);
    ami_async_free(c.a);
    sim_process_stop(&sp);
}

#endif /* AMI_HAVE_OPENSSL */

/* Events with nowhere to go are refused at start, not dropped later. */
static void test_start_needs_event_cb(void **state)
{
    (void)state;
    ami_async *a = NULL;
    assert_int_equal(ami_async_create(&a), 0);
    assert_int_equal(ami_async_set_server(a, "127.0.0.1", 1), 0);
    assert_int_equal(ami_async_set_login(a, "admin", "amp111", 0), 0);
    assert_int_equal(ami_async_start(a), AMI_ERR_INVALID);
    assert_non_null(strstr(ami_async_errmsg(a), "ami_async_set_event_cb"));
    assert_non_null(strstr(ami_async_errmsg(a), "\"off\""));
    assert_int_equal(ami_async_get_state(a), AMI_ASYNC_IDLE);
    assert_int_equal(ami_async_set_events(a, "call,system"), 0);
    assert_int_equal(ami_async_start(a), AMI_ERR_INVALID);
    /* Either remedy works. */
    assert_int_equal(ami_async_set_events(a, "off"), 0);
    ami_async_set_reconnect(a, 0, 0, 0, 0);
    assert_int_equal(ami_async_start(a), 0);
    ami_async_stop(a);
    assert_int_equal(ami_async_set_events(a, "on"), 0);
    ctx c;
    memset(&c, 0, sizeof c);
    ami_async_set_event_cb(a, on_event, &c);
    assert_int_equal(ami_async_start(a), 0);
    ami_async_free(a);
}

#ifndef AMI_HAVE_OPENSSL
static void test_unsupported(void **state)
{
    (void)state;
    ami_async *a = NULL;
    assert_int_equal(ami_async_create(&a), 0);
    ami_tls_config *cfg = NULL;
    assert_int_equal(ami_tls_config_create(&cfg), AMI_ERR_UNSUPPORTED);
    assert_int_equal(ami_tls_config_set_verify(cfg, 0), AMI_ERR_UNSUPPORTED);
    assert_int_equal(ami_async_set_tls(a, NULL), 0);
    ami_async_free(a);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_needs_event_cb),
#ifdef AMI_HAVE_OPENSSL
        cmocka_unit_test(test_good_certificate),     cmocka_unit_test(test_wrong_host_name),
        cmocka_unit_test(test_unknown_ca),           cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_plain_server),         cmocka_unit_test(test_firehose),
    };
    return cmocka_run_group_tests(tests, setup_ca, teardown_ca);
#else
        cmocka_unit_test(test_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#endif
}
