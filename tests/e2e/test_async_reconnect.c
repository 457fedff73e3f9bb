/*
 * Reconnect: ami-sim is killed and restarted on the same port. The action
 * pending at the kill fails exactly once with AMI_ERR_DISCONNECTED (never
 * re-sent), the state callback says EOF, a gap notice arrives before the
 * new connection's events, and the filter added through the API is in
 * force again (the new ami-sim honours it). Also: a server Shutdown event
 * names the reason, and Goodbye without Logoff reconnects.
 */
#include <ami/adapters/poll.h>

#include "port_hold.h"
#include "script_server.h"
#include "sim_process.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct rc_ctx {
    ami_async *a;
    int ups;
    int disconnects;
    int last_reason;
    int keep, drop;
    int gaps;
    char gap_reason[32];
    long gap_ms;
    int gap_before_keep; /* the gap came before any event of the new link */
    int pending_cb_calls;
    int pending_status;
    int results;
    int shutdown_events;
    uint64_t first_down_at; /* ami_async_now() at the first DISCONNECTED */
    uint64_t up_at;         /* ami_async_now() at the latest UP */
} rc_ctx;

static void on_state(ami_async *a, ami_async_state st, ami_async_reason why, void *ud)
{
    (void)a;
    rc_ctx *c = ud;
    if (st == AMI_ASYNC_UP) {
        c->ups++;
        c->up_at = ami_async_now();
    }
    if (st == AMI_ASYNC_DISCONNECTED) {
        if (!c->disconnects)
            c->first_down_at = ami_async_now();
        c->disconnects++;
        c->last_reason = why;
    }
}

static void on_event(ami_async *a, const ami_packet *ev, void *ud)
{
    (void)a;
    rc_ctx *c = ud;
    const char *name = ami_packet_event_name(ev);
    if (!name)
        return;
    if (strcmp(name, AMI_ASYNC_GAP_EVENT) == 0) {
        c->gaps++;
        snprintf(c->gap_reason, sizeof c->gap_reason, "%s", ami_packet_get(ev, "Reason"));
        c->gap_ms = atol(ami_packet_get(ev, "GapMs"));
        assert_non_null(ami_packet_get(ev, "DisconnectedAt"));
        assert_non_null(ami_packet_get(ev, "ReconnectedAt"));
        assert_non_null(ami_packet_get(ev, "Server"));
        c->gap_before_keep = c->keep == 1;
    } else if (strcmp(name, "UserEvent") == 0) {
        const char *u = ami_packet_get(ev, "UserEvent");
        if (u && strcmp(u, "keep") == 0)
            c->keep++;
        if (u && strcmp(u, "drop") == 0)
            c->drop++;
    } else if (strcmp(name, "Shutdown") == 0) {
        c->shutdown_events++;
    }
}

static void on_pending(ami_async *a, ami_result *r, void *ud)
{
    (void)a;
    rc_ctx *c = ud;
    c->pending_cb_calls++;
    c->pending_status = ami_result_status(r);
    ami_result_free(r);
}

static void on_result(ami_async *a, ami_result *r, void *ud)
{
    (void)a;
    rc_ctx *c = ud;
    assert_int_equal(ami_result_status(r), 0);
    c->results++;
    ami_result_free(r);
}

static int ups_reached(void *ud)
{
    rc_ctx *c = ud;
    return c->ups >= c->results; /* `results` doubles as the target here */
}

static void run_until_ups(rc_ctx *c, int ups, int timeout_ms)
{
    int saved = c->results;
    c->results = ups;
    ami_async *hs[1] = {c->a};
    ami_poll_loop(hs, 1, timeout_ms, ups_reached, c);
    c->results = saved;
    assert_int_equal(c->ups, ups);
}

/* Done once nothing received waits for delivery: the queue is empty and
 * no immediate turn is due (events past the delivery budget are handed out
 * on the next turn, which the handle asks for with a zero timeout). */
static int drained(void *ud)
{
    ami_async_stats st;
    ami_async_stats_get(ud, &st);
    return st.queued == 0 && ami_async_timeout(ud) != 0;
}

static void drain(ami_async *a)
{
    ami_async *hs[1] = {a};
    assert_int_equal(ami_poll_loop(hs, 1, 30000, drained, a), 1);
}

static int disconnected(void *ud)
{
    return ((rc_ctx *)ud)->disconnects > 0;
}

static int three_disconnects(void *ud)
{
    return ((rc_ctx *)ud)->disconnects >= 3;
}

static int results_reached(void *ud)
{
    rc_ctx *c = ud;
    return c->results >= 3;
}

/* UserEvent keep, UserEvent drop, then Ping: by the Ping's answer both
 * events (if let through) have arrived. */
static void send_user_events(rc_ctx *c)
{
    c->results = 0;
    const char *names[] = {"keep", "drop"};
    for (int i = 0; i < 2; i++) {
        ami_action *act = NULL;
        assert_int_equal(ami_action_create(&act, "UserEvent"), 0);
        assert_int_equal(ami_action_add(act, "UserEvent", names[i]), 0);
        assert_int_equal(ami_async_send(c->a, act, 20000, on_result, c, NULL), 0);
        ami_action_free(act);
    }
    ami_action *ping = NULL;
    assert_int_equal(ami_action_create(&ping, "Ping"), 0);
    assert_int_equal(ami_async_send(c->a, ping, 20000, on_result, c, NULL), 0);
    ami_action_free(ping);
    ami_async *hs[1] = {c->a};
    ami_poll_loop(hs, 1, 30000, results_reached, c);
    assert_int_equal(c->results, 3);
    /* Events go out after the read that carried them, within a turn. */
    drain(c->a);
}

static void test_kill_and_restart(void **state)
{
    (void)state;
    /* The test holds the port for its whole life: while ami-sim is down it
     * refuses (nobody else can be given it), and the restart gets it back. */
    unsigned port = 0;
    int held = port_hold(&port);
    assert_true(held >= 0);
    sim_process sim;
    assert_int_equal(sim_process_start(&sim, port, NULL), 0);
    rc_ctx c;
    memset(&c, 0, sizeof c);
    assert_int_equal(ami_async_create(&c.a), 0);
    ami_async_set_server(c.a, "127.0.0.1", port);
    ami_async_set_login(c.a, "admin", "amp111", AMI_LOGIN_MD5);
    ami_async_set_reconnect(c.a, 1, 50, 200, 0);
    ami_async_set_state_cb(c.a, on_state, &c);
    ami_async_set_event_cb(c.a, on_event, &c);
    /* Before the first connection: no callback allowed, applied at login. */
    assert_int_equal(ami_async_add_filter(c.a, "UserEvent: keep", on_result, &c), AMI_ERR_STATE);
    assert_int_equal(ami_async_add_filter(c.a, "UserEvent: keep", NULL, NULL), 0);
    assert_int_equal(ami_async_start(c.a), 0);
    run_until_ups(&c, 1, 30000);

    send_user_events(&c);
    assert_int_equal(c.keep, 1);
    assert_int_equal(c.drop, 0);

    /* An action in flight when the server dies: WaitEvent is answered only
     * when an event comes (none will), so the kill always wins the race. */
    ami_action *act = NULL;
    assert_int_equal(ami_action_create(&act, "WaitEvent"), 0);
    assert_int_equal(ami_action_add(act, "Timeout", "30"), 0);
    assert_int_equal(ami_async_send(c.a, act, 60000, on_pending, &c, NULL), 0);
    ami_action_free(act);
    uint64_t kill_at = ami_async_now();
    sim_process_kill(&sim);

    /* Let the client notice (EOF) and fail two attempts while nothing listens. */
    ami_async *hs[1] = {c.a};
    assert_int_equal(ami_poll_loop(hs, 1, 30000, three_disconnects, &c), 1);
    assert_int_equal(c.pending_cb_calls, 1);
    assert_int_equal(c.pending_status, AMI_ERR_DISCONNECTED);
    assert_int_equal(c.disconnects, 3); /* EOF, then refused attempts */
    assert_int_equal(ami_async_get_state(c.a), AMI_ASYNC_DISCONNECTED);

    uint64_t restart_at = ami_async_now();
    assert_int_equal(sim_process_start(&sim, port, NULL), 0);
    run_until_ups(&c, 2, 30000);
    drain(c.a);
    assert_int_equal(c.gaps, 1);
    assert_string_equal(c.gap_reason, "EOF");
    /* The gap spans the outage as the test saw it: it opens when the loss is
     * noticed (after the kill, before the DISCONNECTED callback) and closes
     * when the client is back (after the restart, before the UP callback);
     * 1 ms either side for rounding. */
    assert_true(c.gap_ms + 1 >= (long)(restart_at - c.first_down_at));
    assert_true(c.gap_ms <= (long)(c.up_at - kill_at) + 1);
    assert_int_equal(c.pending_cb_calls, 1); /* exactly once, never re-sent */

    /* The new server got the filter again: "drop" is still filtered. */
    send_user_events(&c);
    assert_int_equal(c.keep, 2);
    assert_int_equal(c.drop, 0);
    assert_true(c.gap_before_keep);

    ami_async_stats st;
    ami_async_stats_get(c.a, &st);
    assert_int_equal(st.connects, 2);
    assert_int_equal(st.disconnects, 1);
    assert_int_equal(st.gaps, 1);

    ami_async_free(c.a);
    sim_process_stop(&sim);
    close(held);
}

static const char login_ok[] = "Response: Success\r\nActionID: %ID%\r\n"
                               "Message: Authentication accepted\r\n\r\n";

/* Event: Shutdown, then EOF: the reason says Shutdown, and the event itself
 * reached the application before the state change. */
static void test_shutdown_reason(void **state)
{
    (void)state;
    static const ss_step steps[] = {
        SS_SEND(SS_BANNER),
        SS_ACTION("Login", login_ok),
        SS_SEND("Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\n"
                "Restart: True\r\n\r\n"),
        SS_CLOSE(),
    };
    script_server *ss = NULL;
    assert_int_equal(script_server_start(&ss, AF_INET, steps, 4), 0);
    rc_ctx c;
    memset(&c, 0, sizeof c);
    assert_int_equal(ami_async_create(&c.a), 0);
    ami_async_set_server(c.a, "127.0.0.1", script_server_port(ss));
    ami_async_set_login(c.a, "admin", "amp111", 0);
    ami_async_set_reconnect(c.a, 1, 5000, 5000, 0);
    ami_async_set_state_cb(c.a, on_state, &c);
    ami_async_set_event_cb(c.a, on_event, &c);
    assert_int_equal(ami_async_start(c.a), 0);
    ami_async *hs[1] = {c.a};
    assert_int_equal(ami_poll_loop(hs, 1, 30000, disconnected, &c), 1);
    assert_int_equal(c.ups, 1);
    assert_int_equal(c.shutdown_events, 1);
    assert_int_equal(c.disconnects, 1);
    assert_int_equal(c.last_reason, AMI_ASYNC_REASON_SHUTDOWN);
    /* The next attempt waits for the backoff: a timer, no socket. */
    assert_int_equal(ami_async_fd(c.a), -1);
    assert_true(ami_async_timeout(c.a) > 1000);
    assert_int_equal(script_server_finish(ss), 0);
    script_server_free(ss);
    ami_async_free(c.a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_and_restart),
        cmocka_unit_test(test_shutdown_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
