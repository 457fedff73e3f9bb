/* The event-loop client driven by the header-only poll() loop against
 * ami-sim: the shared scenario (plain and MD5 login, action, Originate
 * events, list action, logoff), plus connection failures. */
#include <ami/adapters/poll.h>

#include "async_scenario.h"
#include "port_hold.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

struct poll_ctx {
    ami_async *a;
};

static void *poll_attach(ami_async *a)
{
    struct poll_ctx *c = calloc(1, sizeof *c);
    c->a = a;
    return c;
}

static void poll_detach(void *loop)
{
    free(loop);
}

static int flag_set(void *ud)
{
    return *(int *)ud != 0;
}

static int poll_run(void *loop, ami_async *a, int *flag, int timeout_ms)
{
    (void)loop;
    ami_async *hs[1] = {a};
    ami_poll_loop(hs, 1, timeout_ms, flag_set, flag);
    return *flag;
}

static void test_plain(void **state)
{
    (void)state;
    scen_run_one(AMI_LOGIN_PLAIN, poll_attach, poll_run, poll_detach);
}

static void test_md5(void **state)
{
    (void)state;
    scen_run_one(AMI_LOGIN_MD5, poll_attach, poll_run, poll_detach);
}

static int stopped(void *ud)
{
    return ami_async_get_state(ud) == AMI_ASYNC_STOPPED;
}

/* A refused login stops retrying by default, with reason Auth. */
static void test_auth_failure_stops(void **state)
{
    (void)state;
    sim_process sim;
    const char *extra[] = {"--auth-delay", "10", NULL};
    assert_int_equal(sim_process_start(&sim, 0, extra), 0);
    scen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(ami_async_create(&s.a), 0);
    ami_async_set_server(s.a, "127.0.0.1", sim.port);
    ami_async_set_login(s.a, "admin", "wrong", AMI_LOGIN_PLAIN);
    ami_async_set_events(s.a, "off"); /* no event callback: say so */
    ami_async_set_reconnect(s.a, 1, 10, 50, 0);
    ami_async_set_state_cb(s.a, scen_on_state, &s);
    assert_int_equal(ami_async_start(s.a), 0);
    ami_async *hs[1] = {s.a};
    assert_int_equal(ami_poll_loop(hs, 1, 5000, stopped, s.a), 1);
    assert_int_equal(s.reasons[s.nstates - 1], AMI_ASYNC_REASON_AUTH);
    assert_non_null(strstr(ami_async_errmsg(s.a), "Authentication failed"));
    assert_null(strstr(ami_async_errmsg(s.a), "wrong")); /* never the secret */
    ami_async_free(s.a);
    sim_process_stop(&sim);
}

/* Nothing listens (a port the test holds, so it refuses however busy the
 * machine is): each attempt fails with Connect, and retries back off. The
 * bound is on time, not on a count within a fixed window, so a slow
 * machine cannot fail it: with a 50 ms start and "equal jitter" the waits
 * before attempts 2, 3 and 4 are at least 25 + 50 + 100 ms; a spinning
 * client would reach its fourth failure within a few milliseconds. */
static int four_disconnects(void *ud)
{
    const scen *s = ud;
    size_t n = 0;
    for (size_t i = 0; i < s->nstates; i++)
        n += s->states[i] == AMI_ASYNC_DISCONNECTED;
    return n >= 4;
}

static void test_refused_backs_off(void **state)
{
    (void)state;
    unsigned port = 0;
    int held = port_hold(&port);
    assert_true(held >= 0);
    scen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(ami_async_create(&s.a), 0);
    ami_async_set_server(s.a, "127.0.0.1", port);
    ami_async_set_login(s.a, "admin", "amp111", 0);
    ami_async_set_reconnect(s.a, 1, 50, 1000, 0);
    ami_async_set_events(s.a, "off"); /* no event callback: say so */
    ami_async_set_state_cb(s.a, scen_on_state, &s);
    uint64_t start = ami_async_now();
    assert_int_equal(ami_async_start(s.a), 0);
    ami_async *hs[1] = {s.a};
    assert_int_equal(ami_poll_loop(hs, 1, 30000, four_disconnects, &s), 1);
    uint64_t took = ami_async_now() - start;
    size_t disconnects = 0;
    for (size_t i = 0; i < s.nstates; i++)
        if (s.states[i] == AMI_ASYNC_DISCONNECTED) {
            disconnects++;
            assert_int_equal(s.reasons[i], AMI_ASYNC_REASON_CONNECT);
        }
    assert_int_equal(disconnects, 4);
    assert_true(took >= 25 + 50 + 100);
    assert_int_equal(ami_async_get_state(s.a), AMI_ASYNC_DISCONNECTED);
    assert_true(ami_async_timeout(s.a) > 0);
    ami_async_stop(s.a);
    assert_int_equal(ami_async_get_state(s.a), AMI_ASYNC_STOPPED);
    assert_int_equal(ami_async_timeout(s.a), -1);
    ami_async_free(s.a);
    close(held);
}

typedef struct cb_ctx {
    int events;
    int process_rc;
    int freed_in_cb;
} cb_ctx;

/* Inside a callback: driving the loop is refused, freeing is deferred. */
static void reentrant_event(ami_async *a, const ami_packet *ev, void *ud)
{
    (void)ev;
    cb_ctx *c = ud;
    c->events++;
    c->process_rc = ami_async_process(a, 0);
    ami_async_free(a);
    c->freed_in_cb = 1;
}

static int cb_done(void *ud)
{
    return ((cb_ctx *)ud)->freed_in_cb;
}

static void test_callback_rules(void **state)
{
    (void)state;
    sim_process sim;
    const char *extra[] = {"--firehose", "10", NULL};
    assert_int_equal(sim_process_start(&sim, 0, extra), 0);
    cb_ctx c;
    memset(&c, 0, sizeof c);
    ami_async *a = NULL;
    assert_int_equal(ami_async_create(&a), 0);
    ami_async_set_server(a, "127.0.0.1", sim.port);
    ami_async_set_login(a, "admin", "amp111", 0);
    ami_async_set_event_cb(a, reentrant_event, &c);
    assert_int_equal(ami_async_start(a), 0);
    ami_async *hs[1] = {a};
    /* The loop stops the moment the handle is gone (ASan checks the rest). */
    assert_int_equal(ami_poll_loop(hs, 1, 5000, cb_done, &c), 1);
    assert_int_equal(c.events, 1);
    assert_int_equal(c.process_rc, AMI_ERR_STATE);
    sim_process_stop(&sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_md5),
        cmocka_unit_test(test_auth_failure_stops),
        cmocka_unit_test(test_refused_backs_off),
        cmocka_unit_test(test_callback_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
