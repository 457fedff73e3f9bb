/*
 * Allocation-failure loop (nghttp2's failmalloc idea): run a scenario with
 * the n-th allocation failing, for n = 0, 1, 2, ... until it runs through
 * without a failure. Every call must then report AMI_ERR_NOMEM or succeed,
 * every accepted action must complete exactly once, and nothing may leak
 * (this suite runs under AddressSanitizer's leak checker).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "internal.h"

#define MAX_ROUNDS 100000

/* Stop injecting; true when the last run met no injected failure. */
static bool finish_round(long n)
{
    long allocations = ami__alloc_fail_after(-1);
    return allocations <= n;
}

static void assert_ok_or_nomem(long rc)
{
    if (rc != AMI_OK && rc != AMI_ERR_NOMEM)
        fail_msg("unexpected error %ld (%s)", rc, ami_strerror((int)rc));
}

/* ------------------------------------------------------------ actions */

static int build_action(void)
{
    ami_action *a = NULL;
    int rc = ami_action_create(&a, "Originate");
    if (rc) {
        assert_null(a);
        return rc;
    }
    static const char *const keys[] = {"Channel",  "Context", "Exten",  "Priority", "Async",
                                       "CallerID", "Timeout", "Codecs", "Account",  "Extra"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && rc == 0; i++) {
        size_t before = ami_action_count(a);
        rc = ami_action_add(a, keys[i], "value");
        /* A refused add leaves the action as it was. */
        assert_int_equal(ami_action_count(a), rc ? before : before + 1);
    }
    if (rc == 0)
        rc = ami_action_add_var(a, "Variable", "A", "1");
    if (rc == 0) {
        rc = ami_action_set(a, "Channel", "Local/100@test");
        if (rc)
            assert_string_equal(ami_action_get(a, "Channel"), "value");
    }
    char *out = NULL;
    if (rc == 0) {
        rc = ami_action_serialize(a, "id-1", &out, NULL);
        if (rc == 0)
            assert_non_null(strstr(out, "Channel: Local/100@test\r\n"));
        else
            assert_null(out);
    }
    free(out);
    ami_action_free(a);
    return rc;
}

static void test_action_building(void **state)
{
    (void)state;
    long n;
    for (n = 0; n < MAX_ROUNDS; n++) {
        ami__alloc_fail_after(n);
        int rc = build_action();
        bool clean = finish_round(n);
        assert_ok_or_nomem(rc);
        if (clean) {
            assert_int_equal(rc, AMI_OK);
            break;
        }
        assert_int_equal(rc, AMI_ERR_NOMEM);
    }
    assert_true(n > 10 && n < MAX_ROUNDS);
}

/* ------------------------------------------------------- packet copies */

static void test_packet_dup(void **state)
{
    (void)state;
    size_t len;
    char *raw = fixture_load("listcommands.raw", &len);
    ami_parser *p = NULL;
    assert_int_equal(ami_parser_create(&p, AMI_PARSER_EXPECT_BANNER), AMI_OK);
    assert_int_equal(ami_parser_feed(p, raw, len), AMI_OK);
    const ami_packet *pkt;
    size_t packets = 0;
    while (ami_parser_next(p, &pkt) == 1) {
        ami_packet *copy = (ami_packet *)1;
        ami__alloc_fail_after(0);
        int rc = ami_packet_dup(pkt, &copy);
        finish_round(0);
        assert_int_equal(rc, AMI_ERR_NOMEM);
        assert_null(copy);
        assert_int_equal(ami_packet_dup(pkt, &copy), AMI_OK);
        assert_int_equal(ami_packet_count(copy), ami_packet_count(pkt));
        ami_packet_free(copy);
        packets++;
    }
    assert_true(packets >= 3);
    ami_parser_free(p);
    free(raw);
}

/* ------------------------------------------------------------ session */

typedef struct outcome {
    size_t calls[3];
    int status[3];
    size_t events[3];
    size_t app_events;
} outcome;

static const char *const scenario_ids[3] = {"1", "4", "6"};

static void on_result(ami_session *s, ami_result *r, void *ud)
{
    (void)s;
    outcome *o = ud;
    const char *id = ami_result_action_id(r);
    for (int i = 0; i < 3; i++) {
        if (strcmp(id, scenario_ids[i]) == 0) {
            o->calls[i]++;
            o->status[i] = ami_result_status(r);
            o->events[i] = ami_result_event_count(r);
        }
    }
    assert_non_null(ami_result_message(r));
    ami_result_free(r);
}

static void on_event(ami_session *s, const ami_packet *p, void *ud)
{
    (void)s;
    (void)p;
    ((outcome *)ud)->app_events++;
}

/* Create a session, send three actions, receive coreshowchannels.raw (two
 * lists among responses nobody waits for and events), free. Returns the
 * first error met, or 0. */
static int session_scenario(const char *raw, size_t len, bool use_queue, outcome *o)
{
    memset(o, 0, sizeof(*o));
    ami_session *s = NULL;
    int rc = ami_session_create(&s);
    if (rc) {
        assert_null(s);
        return rc;
    }
    if (!use_queue)
        ami_session_set_event_cb(s, on_event, o);
    bool sent[3] = {false, false, false};
    static const char *const names[3] = {"Login", "CoreShowChannels", "CoreShowChannels"};
    for (int i = 0; i < 3 && rc == 0; i++) {
        ami_action *a = NULL;
        rc = ami_action_create(&a, names[i]);
        if (rc == 0)
            rc = ami_action_add(a, "ActionID", scenario_ids[i]);
        if (rc == 0) {
            rc = ami_session_send(s, a, 1000, on_result, o, NULL);
            sent[i] = rc == 0;
        }
        ami_action_free(a);
    }
    size_t off = 0;
    size_t chunk = use_queue ? 512 : len;
    while (rc == 0 && off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        long got = ami_session_recv(s, raw + off, n, 0);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        off += (size_t)got;
        ami_packet *ev;
        while (ami_session_next_event(s, &ev) == 1) {
            o->app_events++;
            ami_packet_free(ev);
        }
    }
    ami_session_free(s);
    for (int i = 0; i < 3; i++)
        assert_int_equal(o->calls[i], sent[i] ? 1 : 0);
    return rc;
}

static void run_session_loop(bool use_queue)
{
    size_t len;
    char *raw = fixture_load("coreshowchannels.raw", &len);
    outcome o;
    long n;
    for (n = 0; n < MAX_ROUNDS; n++) {
        ami__alloc_fail_after(n);
        int rc = session_scenario(raw, len, use_queue, &o);
        bool clean = finish_round(n);
        assert_ok_or_nomem(rc);
        for (int i = 0; i < 3; i++) {
            int st = o.status[i];
            /* Refused before sending, failed by a NOMEM, or freed unanswered. */
            if (st != AMI_OK && st != AMI_ERR_NOMEM && st != AMI_ERR_CANCELLED)
                fail_msg("n=%ld action %d status %d", n, i, st);
        }
        if (clean) {
            assert_int_equal(rc, AMI_OK);
            break;
        }
    }
    assert_true(n > 10 && n < MAX_ROUNDS);
    print_message("session (%s): %ld allocation points\n", use_queue ? "queue" : "callback", n);
    /* The clean run got everything right. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(o.calls[i], 1);
        assert_int_equal(o.status[i], AMI_OK);
    }
    assert_int_equal(o.events[1], 7);
    assert_int_equal(o.events[2], 1);
    assert_true(o.app_events > 0);
    free(raw);
}

static void test_session_with_callback(void **state)
{
    (void)state;
    run_session_loop(false);
}

static void test_session_with_queue(void **state)
{
    (void)state;
    run_session_loop(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_building),
        cmocka_unit_test(test_packet_dup),
        cmocka_unit_test(test_session_with_callback),
        cmocka_unit_test(test_session_with_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
