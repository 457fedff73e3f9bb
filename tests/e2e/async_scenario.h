/*
 * One end-to-end scenario shared by the adapter tests (poll, libuv, libev,
 * libevent): against a real ami-sim, log in (plain, then MD5), run an
 * action, a list action (CoreShowChannels) and an Originate whose events
 * must arrive, then log off. Each test supplies how to attach its loop and
 * how to run it until a condition holds, so the same assertions check
 * every adapter.
 */
#ifndef AMI_TEST_ASYNC_SCENARIO_H
#define AMI_TEST_ASYNC_SCENARIO_H

#include <ami/async.h>

#include "sim_process.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

typedef struct scen {
    ami_async *a;
    int states[64];
    int reasons[64];
    size_t nstates;
    size_t events;
    size_t newchannel;
    size_t originate_response;
    ami_result *result;
    int results;
} scen;

/* Run the loop until *flag != 0 or timeout_ms pass; returns *flag. */
typedef int (*scen_run_fn)(void *loop, ami_async *a, int *flag, int timeout_ms);
typedef void *(*scen_attach_fn)(ami_async *a);
typedef void (*scen_detach_fn)(void *loop);

static void scen_on_state(ami_async *a, ami_async_state st, ami_async_reason why, void *ud)
{
    (void)a;
    scen *s = ud;
    if (s->nstates < 64) {
        s->states[s->nstates] = st;
        s->reasons[s->nstates] = why;
        s->nstates++;
    }
}

static void scen_on_event(ami_async *a, const ami_packet *ev, void *ud)
{
    (void)a;
    scen *s = ud;
    s->events++;
    const char *name = ami_packet_event_name(ev);
    if (name && strcmp(name, "Newchannel") == 0)
        s->newchannel++;
    if (name && strcmp(name, "OriginateResponse") == 0)
        s->originate_response++;
}

static void scen_on_result(ami_async *a, ami_result *r, void *ud)
{
    (void)a;
    scen *s = ud;
    s->results++;
    ami_result_free(s->result);
    s->result = r;
}

static int scen_last_state(const scen *s)
{
    return s->nstates ? s->states[s->nstates - 1] : -1;
}

/* The flag a run function waits on: set by a tiny state watcher. */
static int scen_up_flag(const scen *s)
{
    return scen_last_state(s) == AMI_ASYNC_UP;
}

static void scen_send(scen *s, ami_action *act)
{
    ami_result_free(s->result);
    s->result = NULL;
    s->results = 0;
    assert_int_equal(ami_async_send(s->a, act, 5000, scen_on_result, s, NULL), 0);
    ami_action_free(act);
}

static void scen_run_one(unsigned login_flags, scen_attach_fn attach, scen_run_fn run,
                         scen_detach_fn detach)
{
    sim_process sim;
    assert_int_equal(sim_process_start(&sim, 0, NULL), 0);
    scen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(ami_async_create(&s.a), 0);
    assert_int_equal(ami_async_set_server(s.a, "127.0.0.1", sim.port), 0);
    assert_int_equal(ami_async_set_login(s.a, "admin", "amp111", login_flags), 0);
    ami_async_set_state_cb(s.a, scen_on_state, &s);
    ami_async_set_event_cb(s.a, scen_on_event, &s);
    /* Sending is refused before login: the callback contract holds. */
    ami_action *ping = NULL;
    assert_int_equal(ami_action_create(&ping, "Ping"), 0);
    assert_int_equal(ami_async_send(s.a, ping, 1000, scen_on_result, &s, NULL), AMI_ERR_STATE);
    ami_action_free(ping);

    void *loop = attach(s.a);
    assert_int_equal(ami_async_start(s.a), 0);
    int up = 0;
    for (int i = 0; i < 500 && !scen_up_flag(&s); i++)
        run(loop, s.a, &up, 10);
    assert_int_equal(scen_last_state(&s), AMI_ASYNC_UP);
    assert_int_equal(s.states[0], AMI_ASYNC_CONNECTING);
    assert_int_equal(s.states[1], AMI_ASYNC_LOGGING_IN);
    assert_non_null(ami_session_banner(ami_async_session(s.a)));

    /* A plain action. */
    assert_int_equal(ami_action_create(&ping, "Ping"), 0);
    scen_send(&s, ping);
    run(loop, s.a, &s.results, 5000);
    assert_int_equal(s.results, 1);
    assert_int_equal(ami_result_status(s.result), 0);
    assert_string_equal(ami_packet_get(ami_result_response(s.result), "Ping"), "Pong");

    /* Cancel: the callback runs before ami_async_cancel returns, with
     * AMI_ERR_CANCELLED and the ActionID send reported (the Pong cannot
     * have arrived: the loop has not run since). */
    const char *id = NULL;
    char sent_id[128];
    ami_result_free(s.result);
    s.result = NULL;
    s.results = 0;
    assert_int_equal(ami_action_create(&ping, "Ping"), 0);
    assert_int_equal(ami_async_send(s.a, ping, 5000, scen_on_result, &s, &id), 0);
    ami_action_free(ping);
    assert_non_null(id);
    snprintf(sent_id, sizeof sent_id, "%s", id);
    assert_int_equal(s.results, 0);
    assert_int_equal(ami_async_cancel(s.a, sent_id), 0);
    assert_int_equal(s.results, 1);
    assert_int_equal(ami_result_status(s.result), AMI_ERR_CANCELLED);
    assert_string_equal(ami_result_action_id(s.result), sent_id);
    /* Not pending any more (and never pending: a made-up ID). */
    assert_int_equal(ami_async_cancel(s.a, sent_id), AMI_ERR_INVALID);
    assert_int_equal(ami_async_cancel(s.a, "no-such-id"), AMI_ERR_INVALID);
    assert_int_equal(ami_async_cancel(s.a, NULL), AMI_ERR_INVALID);
    assert_int_equal(s.results, 1);

    /* An Originate: its events come through the event callback. */
    ami_action *orig = NULL;
    assert_int_equal(ami_action_create(&orig, "Originate"), 0);
    assert_int_equal(ami_action_add(orig, "Channel", "Local/100@test"), 0);
    assert_int_equal(ami_action_add(orig, "Application", "Wait"), 0);
    assert_int_equal(ami_action_add(orig, "Data", "5"), 0);
    assert_int_equal(ami_action_add(orig, "Async", "true"), 0);
    scen_send(&s, orig);
    run(loop, s.a, &s.results, 5000);
    assert_int_equal(ami_result_status(s.result), 0);
    int got = 0;
    for (int i = 0; i < 300 && !got; i++) {
        run(loop, s.a, &got, 10);
        got = s.originate_response > 0;
    }
    assert_true(s.newchannel >= 2);
    assert_int_equal(s.originate_response, 1);

    /* A list action: the channels of that call, collected into one result. */
    ami_action *list = NULL;
    assert_int_equal(ami_action_create(&list, "CoreShowChannels"), 0);
    scen_send(&s, list);
    run(loop, s.a, &s.results, 5000);
    assert_int_equal(ami_result_status(s.result), 0);
    assert_true(ami_result_is_list(s.result));
    size_t n = ami_result_event_count(s.result);
    assert_true(n >= 3); /* two Local channels and the Complete event */
    assert_string_equal(ami_packet_event_name(ami_result_event(s.result, n - 1)),
                        "CoreShowChannelsComplete");

    /* Logoff: Goodbye, then STOPPED without a retry. */
    assert_int_equal(ami_async_logoff(s.a), 0);
    int stopped = 0;
    for (int i = 0; i < 300 && !stopped; i++) {
        run(loop, s.a, &stopped, 10);
        stopped = scen_last_state(&s) == AMI_ASYNC_STOPPED;
    }
    assert_int_equal(scen_last_state(&s), AMI_ASYNC_STOPPED);
    assert_int_equal(s.reasons[s.nstates - 1], AMI_ASYNC_REASON_GOODBYE);
    assert_int_equal(ami_async_fd(s.a), -1);

    ami_result_free(s.result);
    ami_async_free(s.a); /* releases the adapter's watchers too */
    detach(loop);
    assert_int_equal(sim_process_stop(&sim), 0);
}

#endif /* AMI_TEST_ASYNC_SCENARIO_H */
