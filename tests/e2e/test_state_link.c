/*
 * The live-state store over both clients against ami-sim on loopback:
 *   - async: a link resyncs on the first UP, follows a call from its
 *     events, and after the server is killed and restarted on the same
 *     port (the gap notice) lists again: the call that vanished with the
 *     old server is reported REMOVED and the store converges to the new
 *     server's (empty) lists; the application's own callbacks keep seeing
 *     every event;
 *   - blocking: ami_state_bootstrap() over a logged-in client while a call
 *     is up gives the sim's CoreShowChannels.
 */
#include <ami/adapters/poll.h>
#include <ami/state_client.h>

#include "sim_process.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct ctx {
    ami_async *a;
    ami_state *st;
    ami_state_link *link;
    int synced, failed;
    int app_events, gaps;
    int removed_channels;
    int phase_done;
} ctx;

static void on_change(ami_state *st, ami_state_kind kind, ami_state_change ch,
                      const ami_state_object *old, const ami_state_object *now, void *ud)
{
    (void)st, (void)old, (void)now;
    ctx *c = ud;
    if (kind == AMI_STATE_CHANNEL && ch == AMI_STATE_REMOVED)
        c->removed_channels++;
}

static void on_event(ami_async *a, const ami_packet *ev, void *ud)
{
    (void)a;
    ctx *c = ud;
    c->app_events++;
    const char *name = ami_packet_event_name(ev);
    if (name && strcmp(name, AMI_ASYNC_GAP_EVENT) == 0)
        c->gaps++;
    assert_true(ami_state_async_on_event(c->link, ev) >= 0);
}

static void on_state(ami_async *a, ami_async_state s, ami_async_reason why, void *ud)
{
    (void)a, (void)why;
    ctx *c = ud;
    ami_state_async_on_state(c->link, s);
}

static void on_synced(ami_state_link *l, int synced, int error, void *ud)
{
    (void)l, (void)error;
    ctx *c = ud;
    if (synced)
        c->synced++;
    else
        c->failed++;
}

static int synced_once(void *ud)
{
    return ((ctx *)ud)->synced >= 1;
}
static int synced_twice(void *ud)
{
    return ((ctx *)ud)->synced >= 2;
}
static int has_channels(void *ud)
{
    return ami_state_count(((ctx *)ud)->st, AMI_STATE_CHANNEL) >= 2;
}

static void originate(ami_async *a)
{
    ami_action *act;
    assert_int_equal(ami_action_create(&act, "Originate"), 0);
    assert_int_equal(ami_action_add(act, "Channel", "Local/100@test"), 0);
    assert_int_equal(ami_action_add(act, "Application", "Wait"), 0);
    assert_int_equal(ami_action_add(act, "Data", "30"), 0);
    assert_int_equal(ami_action_add(act, "Async", "true"), 0);
    assert_int_equal(ami_async_send(a, act, 5000, NULL, NULL, NULL), 0);
    ami_action_free(act);
}

static void test_async_link_resyncs_after_gap(void **state)
{
    (void)state;
    static const char *const extra[] = {"--call-duration", "60000", NULL};
    sim_process sp = {0};
    assert_int_equal(sim_process_start(&sp, 0, extra), 0);
    ctx c;
    memset(&c, 0, sizeof c);
    assert_int_equal(ami_state_create(&c.st), 0);
    ami_state_set_change_cb(c.st, on_change, &c);
    assert_int_equal(ami_async_create(&c.a), 0);
    assert_int_equal(ami_async_set_server(c.a, "127.0.0.1", sp.port), 0);
    assert_int_equal(ami_async_set_login(c.a, "admin", "amp111", AMI_LOGIN_PLAIN), 0);
    assert_int_equal(ami_async_set_events(c.a, "on"), 0);
    ami_async_set_reconnect(c.a, 1, 50, 200, 0);
    ami_async_set_event_cb(c.a, on_event, &c);
    ami_async_set_state_cb(c.a, on_state, &c);
    assert_int_equal(ami_state_link_create(&c.link, c.st, c.a, 5000), 0);
    ami_state_link_set_synced_cb(c.link, on_synced, &c);
    assert_int_equal(ami_async_start(c.a), 0);
    assert_int_equal(ami_poll_loop(&c.a, 1, 10000, synced_once, &c), 1);
    assert_int_equal(ami_state_is_synced(c.st), 1);
    assert_int_equal(ami_state_count(c.st, AMI_STATE_CHANNEL), 0);
    /* A call: its channels come from events. */
    originate(c.a);
    assert_int_equal(ami_poll_loop(&c.a, 1, 10000, has_channels, &c), 1);
    size_t before = ami_state_count(c.st, AMI_STATE_CHANNEL);
    assert_int_equal(c.removed_channels, 0);
    /* The server dies with the call up and comes back empty. */
    unsigned port = sp.port;
    sim_process_kill(&sp);
    assert_int_equal(sim_process_start(&sp, port, extra), 0);
    assert_int_equal(ami_poll_loop(&c.a, 1, 20000, synced_twice, &c), 1);
    assert_true(c.gaps >= 1);
    assert_int_equal(ami_state_count(c.st, AMI_STATE_CHANNEL), 0);
    assert_int_equal((size_t)c.removed_channels, before);
    assert_int_equal(ami_state_generation(c.st), 2);
    assert_true(c.app_events > 0);
    assert_int_equal(c.failed, 0);
    ami_state_link_free(c.link);
    ami_async_free(c.a);
    ami_state_free(c.st);
    sim_process_stop(&sp);
}

static int seen_events;
static void count_event(const ami_packet *ev, void *ud)
{
    (void)ev, (void)ud;
    seen_events++;
}

static void test_blocking_bootstrap(void **state)
{
    (void)state;
    static const char *const extra[] = {"--call-duration", "60000", NULL};
    sim_process sp = {0};
    assert_int_equal(sim_process_start(&sp, 0, extra), 0);
    ami_client *cl;
    assert_int_equal(ami_client_create(&cl), 0);
    assert_int_equal(ami_client_connect(cl, "127.0.0.1", sp.port, 5000), 0);
    assert_int_equal(ami_client_login(cl, "admin", "amp111", AMI_LOGIN_PLAIN, "on", 5000), 0);
    ami_action *act;
    assert_int_equal(ami_action_create(&act, "Originate"), 0);
    assert_int_equal(ami_action_add(act, "Channel", "Local/100@test"), 0);
    assert_int_equal(ami_action_add(act, "Application", "Wait"), 0);
    assert_int_equal(ami_action_add(act, "Data", "30"), 0);
    ami_result *r = NULL;
    /* Synchronous: answered once the call is up. */
    assert_int_equal(ami_client_call(cl, act, 5000, &r), 0);
    ami_result_free(r);
    ami_action_free(act);
    ami_state *st;
    assert_int_equal(ami_state_create(&st), 0);
    seen_events = 0;
    assert_int_equal(ami_state_bootstrap(st, cl, 5000, count_event, NULL), 0);
    assert_int_equal(ami_state_is_synced(st), 1);
    /* The queued call events were handed on, and the store holds the
     * channels the server lists. */
    assert_true(seen_events > 0);
    assert_int_equal(ami_action_create(&act, "CoreShowChannels"), 0);
    assert_int_equal(ami_client_call(cl, act, 5000, &r), 0);
    size_t listed = 0;
    for (size_t i = 0; i < ami_result_event_count(r); i++) {
        const ami_packet *e = ami_result_event(r, i);
        if (strcmp(ami_packet_event_name(e), "CoreShowChannel") == 0) {
            listed++;
            assert_non_null(ami_state_find(st, AMI_STATE_CHANNEL, ami_packet_get(e, "Uniqueid")));
        }
    }
    assert_true(listed >= 2);
    assert_int_equal(ami_state_count(st, AMI_STATE_CHANNEL), listed);
    ami_result_free(r);
    ami_action_free(act);
    ami_state_free(st);
    ami_client_free(cl);
    sim_process_stop(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_async_link_resyncs_after_gap),
        cmocka_unit_test(test_blocking_bootstrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
