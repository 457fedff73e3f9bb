/*
 * Hundreds of connections in one loop: 200 handles to one ami-sim, all
 * logged in, each answers a Ping, then all are freed (with their pending
 * actions failing exactly once).
 */
#include <ami/adapters/poll.h>

#include "sim_process.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N 200

typedef struct many {
    int ups;
    int pongs;
    int cancelled;
} many;

static void on_state(ami_async *a, ami_async_state st, ami_async_reason why, void *ud)
{
    (void)a;
    (void)why;
    if (st == AMI_ASYNC_UP)
        ((many *)ud)->ups++;
}

static void on_pong(ami_async *a, ami_result *r, void *ud)
{
    (void)a;
    many *m = ud;
    if (ami_result_status(r) == 0)
        m->pongs++;
    else if (ami_result_status(r) == AMI_ERR_CANCELLED)
        m->cancelled++;
    ami_result_free(r);
}

static int all_up(void *ud)
{
    return ((many *)ud)->ups == N;
}

static int all_pongs(void *ud)
{
    return ((many *)ud)->pongs == N;
}

static void ping(ami_async *a, many *m)
{
    ami_action *act = NULL;
    assert_int_equal(ami_action_create(&act, "Ping"), 0);
    assert_int_equal(ami_async_send(a, act, 10000, on_pong, m, NULL), 0);
    ami_action_free(act);
}

static void test_two_hundred(void **state)
{
    (void)state;
    sim_process sim;
    assert_int_equal(sim_process_start(&sim, 0, NULL), 0);
    many m;
    memset(&m, 0, sizeof m);
    ami_async *hs[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(ami_async_create(&hs[i]), 0);
        ami_async_set_server(hs[i], "127.0.0.1", sim.port);
        ami_async_set_login(hs[i], "admin", "amp111", i % 2 ? AMI_LOGIN_MD5 : 0);
        ami_async_set_events(hs[i], "off");
        ami_async_set_timeouts(hs[i], 10000, 10000);
        ami_async_set_state_cb(hs[i], on_state, &m);
        assert_int_equal(ami_async_start(hs[i]), 0);
    }
    assert_int_equal(ami_poll_loop(hs, N, 20000, all_up, &m), 1);
    for (int i = 0; i < N; i++)
        ping(hs[i], &m);
    assert_int_equal(ami_poll_loop(hs, N, 20000, all_pongs, &m), 1);
    /* One more in flight on each, then free: cancelled exactly once. */
    for (int i = 0; i < N; i++)
        ping(hs[i], &m);
    for (int i = 0; i < N; i++)
        ami_async_free(hs[i]);
    assert_int_equal(m.pongs + m.cancelled, 2 * N);
    assert_int_equal(m.cancelled, N);
    sim_process_stop(&sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_hundred),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
