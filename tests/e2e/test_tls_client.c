/*
 * The blocking client over TLS against `ami-sim --tls-cert/--tls-key`,
 * with a CA made at run time: a good certificate works (login, Ping,
 * Command); a wrong host name, an unknown CA and a missing client
 * certificate fail with a clear error; verification off works only when
 * asked for; a plain client or a plain server ends with an error within
 * the timeout; 50000 events arrive complete; a vanished server is an error,
 * not SIGPIPE. Built without OpenSSL: the TLS calls say UNSUPPORTED.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ami/client.h>

#include "sim_process.h"
#include "tls_ca.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Generous: a TLS handshake under valgrind on a loaded machine can take
 * seconds; the checks that errors come "well within time" stay (< TIMEOUT). */
#define TIMEOUT 30000

#ifdef AMI_HAVE_OPENSSL

static tls_ca ca;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/* A config trusting `cafile`, with an optional server name. */
static ami_tls_config *config(const char *cafile, const char *server_name)
{
    ami_tls_config *cfg = tls_test_config(cafile, server_name);
    assert_non_null(cfg);
    return cfg;
}

/* Connect with cfg (freed here) and return the connect status. */
static int try_connect(ami_client **out, ami_tls_config *cfg, const char *host, unsigned port,
                       int timeout_ms)
{
    assert_int_equal(ami_client_create(out), 0);
    assert_int_equal(ami_client_set_tls(*out, cfg), 0);
    ami_tls_config_free(cfg); /* the client keeps its own copy */
    return ami_client_connect(*out, host, port, timeout_ms);
}

static void ping_and_command(ami_client *c)
{
    assert_int_equal(ami_client_login(c, "admin", "amp111", AMI_LOGIN_MD5, "off", TIMEOUT), 0);
    ami_action *a = NULL;
    ami_result *r = NULL;
    assert_int_equal(ami_action_create(&a, "Ping"), 0);
    assert_int_equal(ami_client_call(c, a, TIMEOUT, &r), 0);
    assert_string_equal(ami_packet_get(ami_result_response(r), "Ping"), "Pong");
    ami_result_free(r);
    ami_action_free(a);

    assert_int_equal(ami_action_create(&a, "Command"), 0);
    assert_int_equal(ami_action_add(a, "Command", "core show version"), 0);
    assert_int_equal(ami_client_call(c, a, TIMEOUT, &r), 0);
    assert_true(ami_result_output_count(r) >= 1);
    size_t len = 0;
    const char *line = ami_result_output_line(r, 0, &len);
    assert_non_null(line);
    assert_non_null(strstr(line, "Asterisk"));
    ami_result_free(r);
    ami_action_free(a);
    assert_int_equal(ami_client_logoff(c, TIMEOUT), 0);
}

static void test_good_certificate(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.server_cert, ca.server_key, NULL, NULL);
    /* By name (SNI + DNS SAN) and by address (IP SAN). */
    const char *hosts[] = {"localhost", "127.0.0.1"};
    for (size_t i = 0; i < 2; i++) {
        ami_client *c = NULL;
        int rc = try_connect(&c, config(ca.ca, NULL), hosts[i], sp.port, TIMEOUT);
        if (rc != 0)
            fail_msg("%s: %s", hosts[i], ami_client_errmsg(c));
        ping_and_command(c);
        ami_client_free(c);
    }
    sim_process_stop(&sp);
}

static void expect_verify_error(ami_client *c, int rc, unsigned port, const char *reason)
{
    assert_int_equal(rc, AMI_ERR_TLS_VERIFY);
    const char *msg = ami_client_errmsg(c);
    char where[64];
    snprintf(where, sizeof where, "TLS certificate of 127.0.0.1:%u did not verify: ", port);
    if (!strstr(msg, where) || !strstr(msg, reason))
        fail_msg("unexpected message: %s", msg);
    assert_int_equal(ami_client_fd(c), -1);
}

static void test_wrong_host_name(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.server_cert, ca.server_key, NULL, NULL);
    ami_client *c = NULL;
    int rc = try_connect(&c, config(ca.ca, "wrong.example"), "127.0.0.1", sp.port, TIMEOUT);
    expect_verify_error(c, rc, sp.port, "hostname mismatch");
    /* What failed, in words; advice in API terms is the caller's to add. */
    assert_null(strstr(ami_client_errmsg(c), "ami_"));
    ami_client_free(c);
    sim_process_stop(&sp);

    /* A certificate for DNS:localhost only does not cover 127.0.0.1. */
    start_sim(&sp, ca.dns_cert, ca.dns_key, NULL, NULL);
    rc = try_connect(&c, config(ca.ca, NULL), "127.0.0.1", sp.port, TIMEOUT);
    expect_verify_error(c, rc, sp.port, "IP address mismatch");
    ami_client_free(c);
    /* ... while the name it lists verifies. */
    rc = try_connect(&c, config(ca.ca, NULL), "localhost", sp.port, TIMEOUT);
    if (rc != 0)
        fail_msg("%s", ami_client_errmsg(c));
    ami_client_free(c);
    sim_process_stop(&sp);
}

static void test_unknown_ca(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.other_cert, ca.other_key, NULL, NULL);
    ami_client *c = NULL;
    int rc = try_connect(&c, config(ca.ca, NULL), "127.0.0.1", sp.port, TIMEOUT);
    expect_verify_error(c, rc, sp.port, "local issuer certificate");
    assert_null(strstr(ami_client_errmsg(c), "ami_")); /* no API advice for users */
    ami_client_free(c);

    /* Without any CA file the system store is used: still refused. */
    rc = try_connect(&c, config(NULL, NULL), "127.0.0.1", sp.port, TIMEOUT);
    assert_int_equal(rc, AMI_ERR_TLS_VERIFY);
    ami_client_free(c);

    /* A CA file that cannot be read is an error, never "verify nothing". */
    rc = try_connect(&c, config("/nonexistent/ca.pem", NULL), "127.0.0.1", sp.port, TIMEOUT);
    assert_int_equal(rc, AMI_ERR_TLS);
    if (!strstr(ami_client_errmsg(c), "cannot load the TLS trust anchors from /nonexistent/ca.pem"))
        fail_msg("unexpected message: %s", ami_client_errmsg(c));
    assert_int_equal(ami_client_fd(c), -1);
    ami_client_free(c);
    sim_process_stop(&sp);
}

static void test_verify_off_explicitly(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.other_cert, ca.other_key, NULL, NULL);
    ami_tls_config *cfg = config(ca.ca, "wrong.example");
    assert_int_equal(ami_tls_config_set_verify(cfg, 0), 0);
    ami_client *c = NULL;
    int rc = try_connect(&c, cfg, "127.0.0.1", sp.port, TIMEOUT);
    if (rc != 0)
        fail_msg("%s", ami_client_errmsg(c));
    ping_and_command(c);
    ami_client_free(c);
    sim_process_stop(&sp);
}

static void test_client_certificate(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.server_cert, ca.server_key, ca.ca, NULL);
    ami_tls_config *cfg = config(ca.ca, NULL);
    assert_int_equal(ami_tls_config_set_cert(cfg, ca.client_cert, ca.client_key), 0);
    ami_client *c = NULL;
    int rc = try_connect(&c, cfg, "localhost", sp.port, TIMEOUT);
    if (rc != 0)
        fail_msg("%s", ami_client_errmsg(c));
    ping_and_command(c);
    ami_client_free(c);

    /* No certificate: refused, with the alert named, well within time. */
    long start = now_ms();
    rc = try_connect(&c, config(ca.ca, NULL), "localhost", sp.port, TIMEOUT);
    assert_int_equal(rc, AMI_ERR_TLS);
    assert_true(now_ms() - start < TIMEOUT);
    if (!strstr(ami_client_errmsg(c), "certificate required"))
        fail_msg("unexpected message: %s", ami_client_errmsg(c));
    ami_client_free(c);

    /* A key without its certificate is refused by the setter. */
    cfg = config(ca.ca, NULL);
    assert_int_equal(ami_tls_config_set_cert(cfg, NULL, ca.client_key), AMI_ERR_INVALID);
    ami_tls_config_free(cfg);
    sim_process_stop(&sp);
}

static void test_plain_and_tls_mismatch(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.server_cert, ca.server_key, NULL, NULL);
    /* A plain client hears nothing from a TLS port: timeout, not a hang. */
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    long start = now_ms();
    assert_int_equal(ami_client_connect(c, "127.0.0.1", sp.port, 500), AMI_ERR_TIMEOUT);
    long took = now_ms() - start;
    assert_true(took >= 400 && took < 15000); /* the 500 ms timeout, not a hang */
    assert_non_null(strstr(ami_client_errmsg(c), "TLS port"));
    assert_null(strstr(ami_client_errmsg(c), "ami_"));
    ami_client_free(c);
    sim_process_stop(&sp);

    /* A TLS client to a plain port: a TLS error naming the likely cause. */
    assert_int_equal(sim_process_start(&sp, 0, NULL), 0);
    start = now_ms();
    int rc = try_connect(&c, config(ca.ca, NULL), "127.0.0.1", sp.port, TIMEOUT);
    assert_int_equal(rc, AMI_ERR_TLS);
    assert_true(now_ms() - start < TIMEOUT);
    if (!strstr(ami_client_errmsg(c), "TLS port"))
        fail_msg("unexpected message: %s", ami_client_errmsg(c));
    ami_client_free(c);
    sim_process_stop(&sp);
}

/* Records of up to 16 KB arrive faster than they are read: whatever
 * OpenSSL holds decoded must be taken without waiting for poll(). */
static void test_firehose(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.server_cert, ca.server_key, NULL, "50000");
    ami_client *c = NULL;
    int rc = try_connect(&c, config(ca.ca, NULL), "localhost", sp.port, TIMEOUT);
    if (rc != 0)
        fail_msg("%s", ami_client_errmsg(c));
    assert_int_equal(ami_client_login(c, "admin", "amp111", AMI_LOGIN_PLAIN, "on", TIMEOUT), 0);
    unsigned long events = 0;
    const char *count = NULL;
    ami_packet *p = NULL;
    for (;;) {
        rc = ami_client_next_event(c, 10000, &p);
        if (rc != 1)
            fail_msg("after %lu events: %d %s", events, rc, ami_client_errmsg(c));
        const char *name = ami_packet_event_name(p);
        if (name && strcmp(name, "SimDone") == 0) {
            count = ami_packet_get(p, "Count");
            assert_non_null(count);
            assert_string_equal(count, "50000");
            ami_packet_free(p);
            break;
        }
        if (name && (strcmp(name, "Newchannel") == 0 || strcmp(name, "Newstate") == 0 ||
                     strcmp(name, "VarSet") == 0))
            events++;
        ami_packet_free(p);
    }
    assert_int_equal(events, 50000);
    ami_client_free(c);
    sim_process_stop(&sp);
}

static void test_vanished_server_no_sigpipe(void **state)
{
    (void)state;
    sim_process sp;
    start_sim(&sp, ca.server_cert, ca.server_key, NULL, NULL);
    ami_client *c = NULL;
    int rc = try_connect(&c, config(ca.ca, NULL), "localhost", sp.port, TIMEOUT);
    if (rc != 0)
        fail_msg("%s", ami_client_errmsg(c));
    assert_int_equal(ami_client_login(c, "admin", "amp111", AMI_LOGIN_PLAIN, "off", TIMEOUT), 0);
    sim_process_kill(&sp);
    /* Default action for SIGPIPE: a write that raised it would kill us. */
    void (*old)(int) = signal(SIGPIPE, SIG_DFL);
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Ping"), 0);
    for (int i = 0; i < 5; i++) {
        ami_result *r = NULL;
        rc = ami_client_call(c, a, 1000, &r);
        ami_result_free(r);
        if (rc != 0)
            break;
    }
    assert_true(rc == AMI_ERR_DISCONNECTED || rc == AMI_ERR_CLOSED);
    signal(SIGPIPE, old);
    ami_action_free(a);
    ami_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_certificate),
        cmocka_unit_test(test_wrong_host_name),
        cmocka_unit_test(test_unknown_ca),
        cmocka_unit_test(test_verify_off_explicitly),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_plain_and_tls_mismatch),
        cmocka_unit_test(test_firehose),
        cmocka_unit_test(test_vanished_server_no_sigpipe),
    };
    return cmocka_run_group_tests(tests, setup_ca, teardown_ca);
}

#else /* built without OpenSSL */

static void test_unsupported(void **state)
{
    (void)state;
    ami_tls_config *cfg = NULL;
    assert_int_equal(ami_tls_config_create(&cfg), AMI_ERR_UNSUPPORTED);
    assert_null(cfg);
    ami_tls_config_free(NULL);
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    assert_int_equal(ami_client_set_tls(c, NULL), 0); /* "off" is always possible */
    ami_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_unsupported)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
