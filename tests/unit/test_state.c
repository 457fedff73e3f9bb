/*
 * The live-state store on hand-made input: reconcile after a resync, events
 * racing a list, the event rules (bridges, queues, parking, hold, rename),
 * hostile input (missing and absurd fields, huge values, a million
 * channels, a Hangup storm), JSON escaping, and an allocation-failure loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ami/state.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

/* ----------------------------------------------------------- helpers */

/* One packet from "K: V\n..." text (\n becomes CRLF). Owned. */
static ami_packet *pkt(const char *text)
{
    char buf[1 << 16];
    size_t n = 0;
    for (const char *p = text; *p && n + 4 < sizeof buf; p++) {
        if (*p == '\n')
            buf[n++] = '\r';
        buf[n++] = *p;
    }
    buf[n++] = '\r';
    buf[n++] = '\n';
    ami_parser *ps;
    assert_int_equal(ami_parser_create(&ps, 0), 0);
    assert_int_equal(ami_parser_feed(ps, buf, n), 0);
    const ami_packet *p;
    assert_int_equal(ami_parser_next(ps, &p), 1);
    ami_packet *copy;
    assert_int_equal(ami_packet_dup(p, &copy), 0);
    ami_parser_free(ps);
    return copy;
}

static int feed(ami_state *st, const char *text)
{
    ami_packet *p = pkt(text);
    int rc = ami_state_feed_event(st, p);
    ami_packet_free(p);
    return rc;
}

static char *chan_text(const char *event, const char *uid, const char *name, const char *state,
                       const char *extra)
{
    char *s = malloc(4096);
    snprintf(s, 4096,
             "Event: %s\nPrivilege: call,all\nChannel: %s\nChannelState: %s\n"
             "ChannelStateDesc: %s\nCallerIDNum: 100\nCallerIDName: Alice\n"
             "ConnectedLineNum: <unknown>\nConnectedLineName: <unknown>\nLanguage: en\n"
             "AccountCode: \nContext: test\nExten: 100\nPriority: 1\nUniqueid: %s\n"
             "Linkedid: %s\n%s",
             event, name, state, strcmp(state, "6") == 0 ? "Up" : "Down", uid, uid,
             extra ? extra : "");
    return s;
}

static int feed_chan(ami_state *st, const char *event, const char *uid, const char *name,
                     const char *state, const char *extra)
{
    char *t = chan_text(event, uid, name, state, extra);
    int rc = feed(st, t);
    free(t);
    return rc;
}

/* A completed list result of `action` whose items are the texts given. */
static ami_result *list_result(const char *action, const char *const *items, size_t n)
{
    ami_result *r = ami__result_create("t", 1, action, strlen(action));
    ami_packet *resp = pkt("Response: Success\nActionID: t\nEventList: start\nMessage: ok\n");
    ami__result_set_response(r, resp);
    ami_packet_free(resp);
    for (size_t i = 0; i < n; i++) {
        ami_packet *e = pkt(items[i]);
        ami__result_add_event(r, e);
        ami_packet_free(e);
    }
    ami_packet *done = pkt("Event: ListComplete\nActionID: t\nEventList: Complete\n");
    ami__result_add_event(r, done);
    ami_packet_free(done);
    ami__result_finish(r);
    return r;
}

typedef struct change_log {
    char v[64][96];
    size_t n;
    ami_state *st;
    int reentry_rc;
} change_log;

static void on_change(ami_state *st, ami_state_kind kind, ami_state_change ch,
                      const ami_state_object *old, const ami_state_object *now, void *ud)
{
    change_log *log = ud;
    static const char *const names[] = {"ADDED", "CHANGED", "REMOVED"};
    const ami_state_object *o = now ? now : old;
    if (ch == AMI_STATE_ADDED)
        assert_null(old);
    if (ch == AMI_STATE_REMOVED)
        assert_null(now);
    if (ch == AMI_STATE_CHANGED) {
        assert_non_null(old);
        assert_non_null(now);
    }
    /* Feeding from inside the callback is refused. */
    ami_packet *p = pkt("Event: Hangup\nUniqueid: x\n");
    log->reentry_rc = ami_state_feed_event(st, p);
    ami_packet_free(p);
    if (log->n < 64)
        snprintf(log->v[log->n++], 96, "%d %s %s", (int)kind, names[ch], ami_state_object_id(o));
}

static bool logged(const change_log *log, const char *line)
{
    for (size_t i = 0; i < log->n; i++) {
        if (strcmp(log->v[i], line) == 0)
            return true;
    }
    return false;
}

/* Run a resync, answering CoreShowChannels with `channels` and every other
 * list with an empty one. `before_result` runs between sending
 * CoreShowChannels and feeding its result (events racing the list). */
static void resync_with(ami_state *st, const char *const *channels, size_t n,
                        void (*before_result)(ami_state *))
{
    assert_int_equal(ami_state_resync_begin(st), 0);
    ami_action *a;
    unsigned token;
    int rc;
    while ((rc = ami_state_next_action(st, &a, &token)) == 1) {
        ami_result *r;
        if (strcmp(ami_action_name(a), "CoreShowChannels") == 0) {
            if (before_result)
                before_result(st);
            r = list_result("CoreShowChannels", channels, n);
        } else {
            r = list_result(ami_action_name(a), NULL, 0);
        }
        assert_int_equal(ami_state_feed_result(st, token, r), 0);
        ami_result_free(r);
        ami_action_free(a);
    }
    assert_int_equal(rc, 0);
}

static char *csc(const char *uid, const char *name, const char *state)
{
    return chan_text("CoreShowChannel", uid, name, state,
                     "Application: Wait\nApplicationData: 10\nDuration: 00:00:05\nBridgeId: \n");
}

/* ---------------------------------------------------------- reconcile */

static void test_reconcile(void **state)
{
    (void)state;
    ami_state *st;
    assert_int_equal(ami_state_create(&st), 0);
    assert_int_equal(feed_chan(st, "Newchannel", "A", "Local/a-1;1", "0", NULL), 1);
    assert_int_equal(feed_chan(st, "Newchannel", "B", "Local/b-1;1", "0", NULL), 1);
    assert_int_equal(feed_chan(st, "Newchannel", "C", "Local/c-1;1", "0", NULL), 1);
    assert_int_equal(ami_state_count(st, AMI_STATE_CHANNEL), 3);
    change_log log = {0};
    ami_state_set_change_cb(st, on_change, &log);
    char *items[2] = {csc("B", "Local/b-1;1", "6"), csc("D", "Local/d-1;1", "6")};
    resync_with(st, (const char *const *)items, 2, NULL);
    assert_int_equal(log.n, 4);
    assert_true(logged(&log, "0 REMOVED A"));
    assert_true(logged(&log, "0 REMOVED C"));
    assert_true(logged(&log, "0 CHANGED B"));
    assert_true(logged(&log, "0 ADDED D"));
    assert_int_equal(log.reentry_rc, AMI_ERR_STATE);
    assert_int_equal(ami_state_is_synced(st), 1);
    assert_int_equal(ami_state_generation(st), 1);
    const ami_state_object *b = ami_state_find(st, AMI_STATE_CHANNEL, "B");
    assert_string_equal(ami_state_object_get(b, "ChannelState"), "6");
    assert_string_equal(ami_state_object_get(b, "application"), "Wait");
    assert_null(ami_state_object_get(b, "BridgeId"));
    assert_null(ami_state_object_get(b, "Duration"));
    /* The same lists again: nothing changes. */
    log.n = 0;
    resync_with(st, (const char *const *)items, 2, NULL);
    assert_int_equal(log.n, 0);
    free(items[0]);
    free(items[1]);
    ami_state_free(st);
}

static void race_events(ami_state *st)
{
    ami_state_stats s;
    /* While CoreShowChannels is in flight: B hangs up, E appears, A answers. */
    assert_int_equal(feed_chan(st, "Hangup", "B", "Local/b-1;1", "6", "Cause: 16\n"), 1);
    assert_int_equal(feed_chan(st, "Newchannel", "E", "Local/e-1;1", "0", NULL), 1);
    assert_int_equal(feed_chan(st, "Newstate", "A", "Local/a-1;1", "6", NULL), 1);
    ami_state_stats_get(st, &s);
    assert_int_equal(s.tombstones, 1);
}

static void test_hangup_mid_list(void **state)
{
    (void)state;
    ami_state *st;
    assert_int_equal(ami_state_create(&st), 0);
    feed_chan(st, "Newchannel", "A", "Local/a-1;1", "0", NULL);
    feed_chan(st, "Newchannel", "B", "Local/b-1;1", "0", NULL);
    /* The list was taken before the events: A still Down, B still there. */
    char *items[2] = {csc("A", "Local/a-1;1", "0"), csc("B", "Local/b-1;1", "0")};
    resync_with(st, (const char *const *)items, 2, race_events);
    assert_null(ami_state_find(st, AMI_STATE_CHANNEL, "B"));
    assert_non_null(ami_state_find(st, AMI_STATE_CHANNEL, "E"));
    const ami_state_object *a = ami_state_find(st, AMI_STATE_CHANNEL, "A");
    assert_non_null(a);
    assert_string_equal(ami_state_object_get(a, "ChannelState"), "6");
    assert_int_equal(ami_state_count(st, AMI_STATE_CHANNEL), 2);
    assert_int_equal(ami_state_is_synced(st), 1);
    ami_state_stats s;
    ami_state_stats_get(st, &s);
    assert_int_equal(s.tombstones, 0);
    free(items[0]);
    free(items[1]);
    ami_state_free(st);
}

static void test_failed_list_and_stale_tokens(void **state)
{
    (void)state;
    ami_state *st;
    assert_int_equal(ami_state_create(&st), 0);
    ami_action *a;
    unsigned token, old_token;
    assert_int_equal(ami_state_next_action(st, &a, &old_token), 1);
    ami_action_free(a);
    /* A new resync abandons the old list: its token is stale. */
    assert_int_equal(ami_state_resync_begin(st), 0);
    ami_result *r = list_result("CoreShowChannels", NULL, 0);
    assert_int_equal(ami_state_feed_result(st, old_token, r), AMI_ERR_INVALID);
    assert_int_equal(ami_state_next_action(st, &a, &token), 1);
    ami_action_free(a);
    ami_result *fail = ami__result_create("t", 1, "x", 1);
    ami__result_fail(fail, AMI_ERR_DISCONNECTED, "gone");
    assert_int_equal(ami_state_feed_result(st, token, fail), 0);
    while (ami_state_next_action(st, &a, &token) == 1) {
        assert_int_equal(ami_state_feed_result(st, token, r), 0);
        ami_action_free(a);
    }
    assert_int_equal(ami_state_is_synced(st), 0);
    ami_state_stats s;
    ami_state_stats_get(st, &s);
    assert_int_equal(s.stale_results, 1);
    /* ParkedCalls answered Response: Error counts as an empty list. */
    assert_int_equal(feed(st, "Event: ParkedCall\nParkinglot: default\nParkingSpace: 701\n"
                              "ParkeeChannel: X\nParkeeUniqueid: 9\n"),
                     1);
    assert_int_equal(ami_state_resync_begin(st), 0);
    while (ami_state_next_action(st, &a, &token) == 1) {
        if (strcmp(ami_action_name(a), "ParkedCalls") == 0) {
            ami_result *e = ami__result_create("t", 1, "ParkedCalls", 11);
            ami_packet *resp = pkt("Response: Error\nActionID: t\nMessage: Invalid/unknown\n");
            ami__result_set_response(e, resp);
            ami_packet_free(resp);
            ami__result_finish(e);
            assert_int_equal(ami_state_feed_result(st, token, e), 0);
            ami_result_free(e);
        } else {
            assert_int_equal(ami_state_feed_result(st, token, r), 0);
        }
        ami_action_free(a);
    }
    assert_int_equal(ami_state_is_synced(st), 1);
    assert_int_equal(ami_state_count(st, AMI_STATE_PARKED), 0);
    ami_result_free(r);
    ami_result_free(fail);
    ami_state_free(st);
}

/* ------------------------------------------------------- event rules */

static void test_bridges_calls_hold(void **state)
{
    (void)state;
    ami_state *st;
    assert_int_equal(ami_state_create(&st), 0);
    ami_state_set_now(st, 5000);
    feed_chan(st, "Newchannel", "1.1", "Local/a-1;1", "0", NULL);
    char *t = chan_text("Newchannel", "1.2", "Local/a-1;2", "0", NULL);
    /* Same call: Linkedid 1.1. */
    char *lk = strstr(t, "Linkedid: 1.2");
    memcpy(lk, "Linkedid: 1.1", 13);
    assert_int_equal(feed(st, t), 1);
    free(t);
    assert_int_equal(ami_state_call_count(st), 1);
    size_t c = 0;
    const ami_state_object *o;
    int n = 0;
    while ((o = ami_state_next_in_call(st, "1.1", &c)))
        n++;
    assert_int_equal(n, 2);
    feed_chan(st, "Newstate", "1.1", "Local/a-1;1", "6", NULL);
    assert_int_equal(ami_state_object_answered(ami_state_find(st, AMI_STATE_CHANNEL, "1.1")), 5000);
    const char *bridge =
        "BridgeUniqueid: br-1\nBridgeType: basic\nBridgeTechnology: simple_bridge\n"
        "BridgeCreator: <unknown>\nBridgeName: <unknown>\nBridgeNumChannels: 1\n";
    char ev[2048];
    snprintf(ev, sizeof ev, "Event: BridgeCreate\n%s", bridge);
    assert_int_equal(feed(st, ev), 1);
    char *enter = chan_text("BridgeEnter", "1.1", "Local/a-1;1", "6", bridge);
    assert_int_equal(feed(st, enter), 1);
    const ami_state_object *ch = ami_state_find(st, AMI_STATE_CHANNEL, "1.1");
    assert_string_equal(ami_state_object_get(ch, "BridgeId"), "br-1");
    const ami_state_object *br = ami_state_find(st, AMI_STATE_BRIDGE, "br-1");
    c = 0;
    assert_ptr_equal(ami_state_next_in(st, br, AMI_STATE_CHANNEL, &c), ch);
    assert_null(ami_state_next_in(st, br, AMI_STATE_CHANNEL, &c));
    char *json;
    size_t jl;
    assert_int_equal(ami_state_to_json(st, &json, &jl), 0);
    assert_non_null(strstr(json, "\"BridgeId\":\"br-1\""));
    assert_non_null(strstr(json, "\"Channels\":[\"Local/a-1;1\"]"));
    assert_non_null(strstr(json, "\"queues\":[]"));
    free(json);
    /* Hold music and hold. */
    feed_chan(st, "MusicOnHoldStart", "1.2", "Local/a-1;2", "0", "Class: default\n");
    assert_int_equal(ami_state_channel_on_hold(ami_state_find(st, AMI_STATE_CHANNEL, "1.2")), 1);
    feed_chan(st, "MusicOnHoldStop", "1.2", "Local/a-1;2", "0", NULL);
    assert_int_equal(ami_state_channel_on_hold(ami_state_find(st, AMI_STATE_CHANNEL, "1.2")), 0);
    feed_chan(st, "Hold", "1.2", "Local/a-1;2", "0", NULL);
    assert_int_equal(ami_state_channel_on_hold(ami_state_find(st, AMI_STATE_CHANNEL, "1.2")), 1);
    feed_chan(st, "Unhold", "1.2", "Local/a-1;2", "0", NULL);
    assert_int_equal(ami_state_channel_on_hold(ami_state_find(st, AMI_STATE_CHANNEL, "1.2")), 0);
    /* Rename moves the name index. */
    feed_chan(st, "Rename", "1.2", "Local/a-1;2", "0", "Newname: Local/z-9;2\n");
    assert_null(ami_state_find_channel_by_name(st, "Local/a-1;2"));
    assert_ptr_equal(ami_state_find_channel_by_name(st, "Local/z-9;2"),
                     ami_state_find(st, AMI_STATE_CHANNEL, "1.2"));
    /* Newexten's AppData is kept as ApplicationData. */
    feed_chan(st, "Newexten", "1.2", "Local/z-9;2", "0", "Application: Wait\nAppData: 15\n");
    assert_string_equal(
        ami_state_object_get(ami_state_find(st, AMI_STATE_CHANNEL, "1.2"), "ApplicationData"),
        "15");
    /* Leaving keeps the empty bridge; destroy removes it and unlinks. */
    char *leave = chan_text("BridgeLeave", "1.1", "Local/a-1;1", "6", bridge);
    assert_int_equal(feed(st, leave), 1);
    assert_null(ami_state_object_get(ami_state_find(st, AMI_STATE_CHANNEL, "1.1"), "BridgeId"));
    assert_int_equal(ami_state_count(st, AMI_STATE_BRIDGE), 1);
    assert_int_equal(feed(st, enter), 1);
    snprintf(ev, sizeof ev, "Event: BridgeDestroy\n%s", bridge);
    assert_int_equal(feed(st, ev), 1);
    assert_int_equal(ami_state_count(st, AMI_STATE_BRIDGE), 0);
    assert_null(ami_state_object_get(ami_state_find(st, AMI_STATE_CHANNEL, "1.1"), "BridgeId"));
    free(enter);
    free(leave);
    /* Hangups empty the store and the calls. */
    feed_chan(st, "Hangup", "1.1", "Local/a-1;1", "6", NULL);
    feed_chan(st, "Hangup", "1.2", "Local/z-9;2", "6", NULL);
    assert_int_equal(ami_state_count(st, AMI_STATE_CHANNEL), 0);
    assert_int_equal(ami_state_call_count(st), 0);
    ami_state_free(st);
}

static void test_queues_and_parking(void **state)
{
    (void)state;
    ami_state *st;
    assert_int_equal(ami_state_create(&st), 0);
    feed(st, "Event: QueueParams\nQueue: sales\nMax: 10\nStrategy: rrmemory\nCalls: 0\n"
             "ActionID: x\n");
    feed(st, "Event: QueueMember\nQueue: sales\nName: Agent Carol\nLocation: Local/202@test\n"
             "Paused: 1\nStatus: 1\n");
    const ami_state_object *m = ami_state_find(st, AMI_STATE_MEMBER, "sales/Local/202@test");
    assert_non_null(m);
    assert_string_equal(ami_state_object_get(m, "MemberName"), "Agent Carol");
    assert_null(ami_state_object_get(m, "ActionID"));
    feed(st, "Event: QueueMemberPause\nQueue: sales\nMemberName: Agent Carol\n"
             "Interface: Local/202@test\nPaused: 0\nStatus: 1\n");
    m = ami_state_find(st, AMI_STATE_MEMBER, "sales/Local/202@test");
    assert_string_equal(ami_state_object_get(m, "Paused"), "0");
    /* Three callers join; the first leaves; the others move up. */
    const char *uids[3] = {"5.1", "5.2", "5.3"};
    for (int i = 0; i < 3; i++) {
        char name[32], extra[128];
        snprintf(name, sizeof name, "Local/301@test-%d;2", i);
        feed_chan(st, "Newchannel", uids[i], name, "6", NULL);
        snprintf(extra, sizeof extra, "Queue: sales\nPosition: %d\nCount: %d\n", i + 1, i + 1);
        assert_int_equal(feed_chan(st, "QueueCallerJoin", uids[i], name, "6", extra), 1);
    }
    assert_string_equal(ami_state_object_get(ami_state_find(st, AMI_STATE_QUEUE, "sales"), "Calls"),
                        "3");
    feed_chan(st, "QueueCallerLeave", "5.1", "Local/301@test-0;2", "6",
              "Queue: sales\nPosition: 1\nCount: 2\n");
    size_t c = 0;
    const ami_state_object *o = ami_state_next(st, AMI_STATE_CALLER, &c);
    assert_string_equal(ami_state_object_id(o), "sales/5.2");
    assert_string_equal(ami_state_object_get(o, "Position"), "1");
    o = ami_state_next(st, AMI_STATE_CALLER, &c);
    assert_string_equal(ami_state_object_get(o, "Position"), "2");
    assert_null(ami_state_next(st, AMI_STATE_CALLER, &c));
    char *json;
    size_t jl;
    assert_int_equal(ami_state_to_json(st, &json, &jl), 0);
    assert_non_null(strstr(json, "\"members\":[{\"Queue\":\"sales\""));
    assert_non_null(strstr(json, "\"callers\":[{"));
    free(json);
    /* Parking. */
    const char *park = "Event: ParkedCall\nParkeeChannel: Local/301@test-1;2\nParkeeUniqueid: 5.2\n"
                       "Parkinglot: default\nParkingSpace: 701\nParkingTimeout: 3\n";
    assert_int_equal(feed(st, park), 1);
    assert_non_null(ami_state_find(st, AMI_STATE_PARKED, "default/701"));
    assert_int_equal(feed(st, "Event: ParkedCallTimeOut\nParkinglot: default\nParkingSpace: 701\n"),
                     1);
    assert_int_equal(ami_state_count(st, AMI_STATE_PARKED), 0);
    assert_int_equal(feed(st, "Event: UnParkedCall\nParkinglot: default\nParkingSpace: 701\n"), 0);
    feed(st, "Event: DeviceStateChange\nDevice: Local/200@test\nState: INUSE\n");
    assert_string_equal(
        ami_state_object_get(ami_state_find(st, AMI_STATE_DEVICE, "Local/200@test"), "State"),
        "INUSE");
    feed(st, "Event: QueueMemberRemoved\nQueue: sales\nInterface: Local/202@test\n");
    assert_int_equal(ami_state_count(st, AMI_STATE_MEMBER), 0);
    ami_state_stats s;
    ami_state_stats_get(st, &s);
    assert_int_equal(s.contradictions, 1); /* the UnParkedCall of nothing */
    ami_state_free(st);
}

/* ----------------------------------------------------------- hostile */

static void test_hostile_fields(void **state)
{
    (void)state;
    ami_state *st;
    assert_int_equal(ami_state_create(&st), 0);
    static const char absurd_duration[] = "Event: CoreShowChannel\nChannelState: 6\nUniqueid: c1\n"
                                          "Duration: 99999999999:99:99\nBridgeId: \n";
    /* Missing fields: nothing stored, no crash. */
    static const char *const bad[] = {
        "Event: Newchannel\nChannel: x\n",
        "Event: Newchannel\nChannelState: 6\nUniqueid: \n",
        "Event: Hangup\n",
        "Event: BridgeEnter\nChannel: x\nChannelState: 6\nUniqueid: 1\n",
        "Event: BridgeMerge\nToBridgeUniqueid: a\nFromBridgeUniqueid: a\n",
        "Event: QueueCallerJoin\nChannelState: 6\nUniqueid: 1\n",
        "Event: QueueMemberStatus\nQueue: q\n",
        "Event: QueueEntry\nQueue: q\n",
        "Event: ParkedCall\nParkinglot: x\n",
        "Event: DeviceStateChange\nState: x\n",
        "Event: Rename\nUniqueid: zz\nChannelState: 6\n",
        "Event: \n",
        "Response: Success\nUniqueid: 1\n",
        absurd_duration,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_true(ami_state_feed_event(st, NULL) == AMI_ERR_INVALID && feed(st, bad[i]) >= 0);
    /* Only the CoreShowChannel named a channel (and the QueueMemberStatus a
     * queue with no member). */
    assert_int_equal(ami_state_count(st, AMI_STATE_CHANNEL), 1);
    assert_int_equal(ami_state_count(st, AMI_STATE_MEMBER), 0);
    /* Huge value: cut to the object bound, counted, id kept. */
    assert_int_equal(ami_state_set_limits(st, 0, 1024), 0);
    size_t big = 60000;
    char *t = malloc(big + 512);
    int n = snprintf(t, big + 512, "Event: Newchannel\nChannelState: 0\nUniqueid: huge\nChannel: ");
    memset(t + n, 'x', big);
    strcpy(t + n + big, "\nContext: test\n");
    assert_int_equal(feed(st, t), 1);
    free(t);
    const ami_state_object *o = ami_state_find(st, AMI_STATE_CHANNEL, "huge");
    assert_non_null(o);
    assert_null(ami_state_object_get(o, "Channel"));
    assert_string_equal(ami_state_object_get(o, "Context"), "test");
    ami_state_stats s;
    ami_state_stats_get(st, &s);
    assert_int_equal(s.truncated, 1);
    assert_true(s.bytes < 8192);
    /* An id longer than the bound is refused. */
    t = malloc(4096);
    n = snprintf(t, 4096, "Event: Newchannel\nChannelState: 0\nUniqueid: ");
    memset(t + n, 'u', 2000);
    strcpy(t + n + 2000, "\n");
    assert_int_equal(feed(st, t), 0);
    free(t);
    ami_state_stats_get(st, &s);
    assert_int_equal(s.refused, 1);
    assert_int_equal(ami_state_set_limits(st, 0, 10), AMI_ERR_INVALID);
    ami_state_free(st);
}

static void test_million_channels_and_hangup_storm(void **state)
{
    (void)state;
    ami_state *st;
    assert_int_equal(ami_state_create(&st), 0);
    assert_int_equal(ami_state_set_limits(st, 10000, 0), 0);
    char *t = chan_text("Newchannel", "0000000000", "Local/x-0000000000;1", "0", NULL);
    ami_packet *p = pkt(t);
    free(t);
    /* Rewrite the Uniqueid in place (same length) rather than parse 10^6 texts. */
    const char *uid = ami_packet_get(p, "Uniqueid");
    char *w = (char *)uid;
    for (unsigned i = 0; i < 1000000; i++) {
        char num[16];
        snprintf(num, sizeof num, "%010u", i);
        memcpy(w, num, 10);
        assert_true(ami_state_feed_event(st, p) >= 0);
    }
    ami_packet_free(p);
    ami_state_stats s;
    ami_state_stats_get(st, &s);
    assert_int_equal(ami_state_count(st, AMI_STATE_CHANNEL), 10000);
    assert_int_equal(s.refused, 990000);
    assert_int_equal(s.objects, 10000);
    /* Bounded: the tracked ones, under 2 KiB each with indexes and calls. */
    assert_true(s.bytes < 10000u * 2048u);
    /* Hangup storm for ids nobody has. */
    t = chan_text("Hangup", "zzzzzzzzzz", "Local/y;1", "6", NULL);
    p = pkt(t);
    free(t);
    w = (char *)ami_packet_get(p, "Uniqueid");
    for (unsigned i = 0; i < 200000; i++) {
        char num[16];
        snprintf(num, sizeof num, "z%09u", i);
        memcpy(w, num, 10);
        assert_int_equal(ami_state_feed_event(st, p), 0);
    }
    ami_packet_free(p);
    ami_state_stats_get(st, &s);
    assert_int_equal(s.contradictions, 200000);
    /* No list in flight: removals leave no tombstones behind. */
    for (unsigned i = 0; i < 1000; i++) {
        char uidbuf[32], name[64];
        snprintf(uidbuf, sizeof uidbuf, "t%u", i);
        snprintf(name, sizeof name, "Local/t-%u;1", i);
        feed_chan(st, "Newchannel", uidbuf, name, "0", NULL);
        feed_chan(st, "Hangup", uidbuf, name, "0", NULL);
    }
    ami_state_stats_get(st, &s);
    assert_int_equal(s.tombstones, 0);
    assert_int_equal(ami_state_count(st, AMI_STATE_CHANNEL), 10000);
    ami_state_free(st);
}

static void test_json_escaping(void **state)
{
    (void)state;
    ami_state *st;
    assert_int_equal(ami_state_create(&st), 0);
    /* Quote, backslash, control, DEL, valid UTF-8 (é, €, 😀), invalid
     * bytes (lone continuation, overlong, surrogate, truncated). */
    static const char raw[] = "Event: DeviceStateChange\r\nDevice: d\r\nState: "
                              "\"\\\x01\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                              "\x80\xc0\xaf\xed\xa0\x80\xe2\x82\r\n\r\n";
    ami_parser *ps;
    assert_int_equal(ami_parser_create(&ps, 0), 0);
    assert_int_equal(ami_parser_feed(ps, raw, sizeof raw - 1), 0);
    const ami_packet *p;
    assert_int_equal(ami_parser_next(ps, &p), 1);
    assert_int_equal(ami_state_feed_event(st, p), 1);
    ami_parser_free(ps);
    char *json;
    size_t jl;
    assert_int_equal(
        ami_state_object_to_json(ami_state_find(st, AMI_STATE_DEVICE, "d"), &json, &jl), 0);
    assert_string_equal(json, "{\"Device\":\"d\",\"State\":\"\\\"\\\\\\u0001\\u007f"
                              "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                              "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"}");
    assert_int_equal(jl, strlen(json));
    free(json);
    ami_state_free(st);
}

/* -------------------------------------------------- allocation failure */

static int scenario(ami_packet **evs, size_t nev, ami_result *r)
{
    ami_state *st;
    int rc = ami_state_create(&st);
    if (rc)
        return rc;
    for (size_t i = 0; i < nev; i++) {
        rc = ami_state_feed_event(st, evs[i]);
        if (rc < 0 && rc != AMI_ERR_NOMEM)
            fail_msg("feed: %d", rc);
    }
    ami_action *a;
    unsigned token;
    while ((rc = ami_state_next_action(st, &a, &token)) == 1) {
        rc = ami_state_feed_result(st, token, r);
        ami_action_free(a);
        if (rc < 0 && rc != AMI_ERR_NOMEM)
            fail_msg("feed_result: %d", rc);
    }
    if (rc < 0 && rc != AMI_ERR_NOMEM)
        fail_msg("next_action: %d", rc);
    char *json = NULL;
    size_t jl;
    rc = ami_state_to_json(st, &json, &jl);
    if (rc && rc != AMI_ERR_NOMEM)
        fail_msg("json: %d", rc);
    free(json);
    ami_state_free(st);
    return 0;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    const char *bridge = "BridgeUniqueid: br\nBridgeType: basic\n";
    char *texts[8];
    texts[0] = chan_text("Newchannel", "1", "Local/a;1", "0", NULL);
    texts[1] = chan_text("Newchannel", "2", "Local/a;2", "0", NULL);
    texts[2] = chan_text("BridgeEnter", "1", "Local/a;1", "6", bridge);
    texts[3] = chan_text("QueueCallerJoin", "2", "Local/a;2", "6", "Queue: q\nPosition: 1\n");
    texts[4] = strdup("Event: QueueMemberAdded\nQueue: q\nInterface: Local/x\nPaused: 0\n");
    texts[5] = strdup("Event: ParkedCall\nParkinglot: p\nParkingSpace: 1\nParkeeUniqueid: 1\n");
    texts[6] = strdup("Event: DeviceStateChange\nDevice: d\nState: INUSE\n");
    texts[7] = chan_text("Hangup", "2", "Local/a;2", "6", NULL);
    ami_packet *evs[8];
    for (int i = 0; i < 8; i++) {
        evs[i] = pkt(texts[i]);
        free(texts[i]);
    }
    char *item = csc("1", "Local/a;1", "6");
    const char *items[1] = {item};
    ami_result *r = list_result("CoreShowChannels", items, 1);
    free(item);
    long n;
    for (n = 0; n < 100000; n++) {
        ami__alloc_fail_after(n);
        scenario(evs, 8, r);
        if (ami__alloc_fail_after(-1) <= n)
            break;
    }
    assert_true(n > 10);
    for (int i = 0; i < 8; i++)
        ami_packet_free(evs[i]);
    ami_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reconcile),
        cmocka_unit_test(test_hangup_mid_list),
        cmocka_unit_test(test_failed_list_and_stale_tokens),
        cmocka_unit_test(test_bridges_calls_hold),
        cmocka_unit_test(test_queues_and_parking),
        cmocka_unit_test(test_hostile_fields),
        cmocka_unit_test(test_million_channels_and_hangup_storm),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
