/*
 * Keepalive: an idle but healthy server keeps the connection (Pings are
 * answered); a server that stops answering (SIGSTOP: TCP still accepts,
 * nothing is read or written) is detected within interval + deadline and
 * reconnected once it is back, with a gap notice that says Timeout. A
 * server that never answers the login (--fault stall) is a login timeout.
 */
#include <ami/adapters/poll.h>

#include "sim_process.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Long enough that a loaded, sanitized machine answers every Ping within
 * DEADLINE and schedules the client within SLACK of its timer (with 100 ms
 * both failed under two CPU hogs and a load of 18). SLACK stays under
 * INTERVAL, so a client that checked only every other interval would
 * still fail the bound. */
#define INTERVAL 1000
#define DEADLINE 1000
#define SLACK    800

typedef struct ka_ctx {
    int ups;
    int disconnects;
    int reason;
    uint64_t lost_at;
    int gaps;
    char gap_reason[32];
} ka_ctx;

static void on_state(ami_async *a, ami_async_state st, ami_async_reason why, void *ud)
{
    (void)a;
    ka_ctx *c = ud;
    if (st == AMI_ASYNC_UP)
        c->ups++;
    if (st == AMI_ASYNC_DISCONNECTED && !c->disconnects++) {
        c->reason = why;
        c->lost_at = ami_async_now();
    }
}

static void on_event(ami_async *a, const ami_packet *ev, void *ud)
{
    (void)a;
    ka_ctx *c = ud;
    const char *name = ami_packet_event_name(ev);
    if (name && strcmp(name, AMI_ASYNC_GAP_EVENT) == 0) {
        c->gaps++;
        snprintf(c->gap_reason, sizeof c->gap_reason, "%s", ami_packet_get(ev, "Reason"));
    }
}

static int disconnected(void *ud)
{
    return ((ka_ctx *)ud)->disconnects > 0;
}

static int two_ups(void *ud)
{
    ka_ctx *c = ud;
    return c->ups >= 2 && c->gaps >= 1;
}

static int one_up(void *ud)
{
    return ((ka_ctx *)ud)->ups >= 1;
}

static void test_dead_peer_detected(void **state)
{
    (void)state;
    sim_process sim;
    assert_int_equal(sim_process_start(&sim, 0, NULL), 0);
    ka_ctx c;
    memset(&c, 0, sizeof c);
    ami_async *a = NULL;
    assert_int_equal(ami_async_create(&a), 0);
    ami_async_set_server(a, "127.0.0.1", sim.port);
    ami_async_set_login(a, "admin", "amp111", 0);
    ami_async_set_events(a, "off");
    ami_async_set_keepalive(a, INTERVAL, DEADLINE);
    ami_async_set_timeouts(a, 2000, 2000);
    ami_async_set_reconnect(a, 1, 20, 100, 0);
    ami_async_set_state_cb(a, on_state, &c);
    ami_async_set_event_cb(a, on_event, &c);
    assert_int_equal(ami_async_start(a), 0);
    ami_async *hs[1] = {a};
    assert_int_equal(ami_poll_loop(hs, 1, 30000, one_up, &c), 1);

    /* Idle for several intervals: the Pings are answered, nothing drops. */
    assert_int_equal(ami_poll_loop(hs, 1, 3 * INTERVAL + INTERVAL / 2, disconnected, &c), 0);
    assert_int_equal(c.disconnects, 0);
    /* While idle the loop sleeps until the next Ping check, not forever. */
    int t = ami_async_timeout(a);
    assert_true(t >= 0 && t <= INTERVAL);

    sim_process_pause(&sim);
    uint64_t stalled_at = ami_async_now();
    assert_int_equal(ami_poll_loop(hs, 1, 30000, disconnected, &c), 1);
    assert_int_equal(c.reason, AMI_ASYNC_REASON_TIMEOUT);
    uint64_t took = c.lost_at - stalled_at;
    /* Detected within interval + deadline (plus scheduling slack). */
    if (took > INTERVAL + DEADLINE + SLACK)
        fail_msg("dead peer detected after %llu ms", (unsigned long long)took);
    assert_non_null(strstr(ami_async_errmsg(a), "Ping"));

    /* Attempts while the server is frozen time out waiting for the banner;
     * once it runs again the client comes back and reports the gap. */
    ami_poll_loop(hs, 1, 2500, NULL, NULL);
    sim_process_resume(&sim);
    assert_int_equal(ami_poll_loop(hs, 1, 30000, two_ups, &c), 1);
    assert_string_equal(c.gap_reason, "Timeout");
    ami_async_free(a);
    sim_process_stop(&sim);
}

static int stopped(void *ud)
{
    return ami_async_get_state(ud) == AMI_ASYNC_STOPPED;
}

static void test_stalled_login_times_out(void **state)
{
    (void)state;
    sim_process sim;
    const char *extra[] = {"--fault", "stall", NULL};
    assert_int_equal(sim_process_start(&sim, 0, extra), 0);
    ka_ctx c;
    memset(&c, 0, sizeof c);
    ami_async *a = NULL;
    assert_int_equal(ami_async_create(&a), 0);
    ami_async_set_server(a, "127.0.0.1", sim.port);
    ami_async_set_login(a, "admin", "amp111", 0);
    /* The login deadline, far below the connect one: the stop must come
     * from the first. */
    ami_async_set_timeouts(a, 20000, 1000);
    ami_async_set_events(a, "off"); /* no event callback: say so */
    ami_async_set_reconnect(a, 0, 0, 0, 0);
    ami_async_set_state_cb(a, on_state, &c);
    assert_int_equal(ami_async_start(a), 0);
    ami_async *hs[1] = {a};
    uint64_t start = ami_async_now();
    assert_int_equal(ami_poll_loop(hs, 1, 30000, stopped, a), 1);
    assert_true(ami_async_now() - start < 20000);
    /* Reconnect off: the loss ends in STOPPED with the reason. */
    assert_int_equal(ami_async_get_state(a), AMI_ASYNC_STOPPED);
    assert_non_null(strstr(ami_async_errmsg(a), "Login"));
    assert_non_null(strstr(ami_async_errmsg(a), "1000 ms"));
    ami_async_free(a);
    sim_process_stop(&sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dead_peer_detected),
        cmocka_unit_test(test_stalled_login_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
