/*
 * Every real capture replayed into the live-state store, whole, one byte at
 * a time and in seeded random splits: the state built from the events
 * before each list response must equal that list's content.
 *
 *   - CoreShowChannels, BridgeInfo (the bridge's channels), QueueStatus's
 *     callers (QueueEntry) and ParkedCalls are compared every time: events
 *     alone build them;
 *   - BridgeList, QueueParams and QueueMember are compared from the second
 *     list of their kind on: what existed before the capture started (the
 *     static queue members, the parking lot's holding bridge) is learnt from
 *     the first, as an informer does; every list is then fed to the store,
 *     and feeding one that matched must change nothing.
 * Captures whose calls all ended must end with no channel, caller or parked
 * call. busy_snapshot (Events: off) is ingested through the resync path.
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

#include "fixture.h"
#include "result.h"

/* ------------------------------------------------------ the .sent file */

typedef struct sent_action {
    char id[32];
    char name[40];
    char arg[128]; /* BridgeUniqueid of BridgeInfo, Queue of QueueStatus */
    char member[128];
} sent_action;

static size_t parse_sent(const char *name, sent_action *out, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "%s.sent", name);
    size_t len;
    char *data = fixture_load(path, &len);
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    assert_int_equal(ami_parser_feed(p, data, len), 0);
    size_t n = 0;
    const ami_packet *pk;
    while (ami_parser_next(p, &pk) == 1 && n < cap) {
        const char *act = ami_packet_get(pk, "Action");
        const char *id = ami_packet_get(pk, "ActionID");
        if (!act || !id)
            continue;
        sent_action *s = &out[n++];
        memset(s, 0, sizeof(*s));
        snprintf(s->id, sizeof s->id, "%s", id);
        snprintf(s->name, sizeof s->name, "%s", act);
        const char *arg = ami_packet_get(pk, "BridgeUniqueid");
        if (!arg)
            arg = ami_packet_get(pk, "Queue");
        if (arg)
            snprintf(s->arg, sizeof s->arg, "%s", arg);
        const char *m = ami_packet_get(pk, "Member");
        if (m)
            snprintf(s->member, sizeof s->member, "%s", m);
    }
    ami_parser_free(p);
    free(data);
    return n;
}

/* ------------------------------------------------ canonical object sets */

/* A set of lines, sorted, so two views compare as one string. */
typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

static void lines_add(lines *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof(char *));
    }
    l->v[l->n++] = strdup(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *lines_join(lines *l)
{
    if (l->n)
        qsort(l->v, l->n, sizeof(char *), cmp_str);
    size_t total = 1;
    for (size_t i = 0; i < l->n; i++)
        total += strlen(l->v[i]) + 1;
    char *s = malloc(total);
    s[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        strcat(s, l->v[i]);
        strcat(s, "\n");
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
    return s;
}

static const char *const CHANNEL_KEYS[] = {"Uniqueid",         "Channel",           "ChannelState",
                                           "ChannelStateDesc", "CallerIDNum",       "CallerIDName",
                                           "ConnectedLineNum", "ConnectedLineName", "Language",
                                           "AccountCode",      "Context",           "Exten",
                                           "Priority",         "Linkedid",          "Application",
                                           "ApplicationData",  "BridgeId",          NULL};
/* BridgeInfoChannel has no Application headers. */
static const char *const BRIDGED_KEYS[] = {
    "Uniqueid",    "Channel",      "ChannelState",     "ChannelStateDesc",
    "CallerIDNum", "CallerIDName", "ConnectedLineNum", "ConnectedLineName",
    "Language",    "AccountCode",  "Context",          "Exten",
    "Priority",    "Linkedid",     "BridgeId",         NULL};
static const char *const BRIDGE_KEYS[] = {
    "BridgeUniqueid", "BridgeType",        "BridgeTechnology",      "BridgeCreator",
    "BridgeName",     "BridgeNumChannels", "BridgeVideoSourceMode", NULL};
static const char *const QUEUE_KEYS[] = {"Queue", "Strategy", "Max", "Calls", NULL};
static const char *const MEMBER_KEYS[] = {
    "Queue",      "Interface",    "MemberName", "StateInterface",
    "Membership", "Penalty",      "CallsTaken", "LastCall",
    "LastPause",  "LoginTime",    "InCall",     "Status",
    "Paused",     "PausedReason", "Wrapuptime", NULL};
static const char *const CALLER_KEYS[] = {
    "Queue",        "Position",         "Channel",           "Uniqueid", "CallerIDNum",
    "CallerIDName", "ConnectedLineNum", "ConnectedLineName", NULL};
static const char *const PARKED_KEYS[] = {
    "Parkinglot",        "ParkingSpace",       "ParkeeChannel",    "ParkeeUniqueid",
    "ParkeeCallerIDNum", "ParkeeCallerIDName", "ParkerDialString", NULL};

typedef const char *(*getter)(const void *obj, const char *key);

static const char *get_obj(const void *o, const char *key)
{
    return ami_state_object_get(o, key);
}

static const char *get_pkt(const void *p, const char *key)
{
    /* QueueStatus names two member headers its own way. */
    const char *v = ami_packet_get(p, key);
    if (!v && strcmp(key, "Interface") == 0)
        v = ami_packet_get(p, "Location");
    if (!v && strcmp(key, "MemberName") == 0)
        v = ami_packet_get(p, "Name");
    return v;
}

static void line_of(lines *l, const void *obj, getter get, const char *const *keys)
{
    char buf[4096];
    size_t off = 0;
    for (size_t i = 0; keys[i]; i++) {
        const char *v = get(obj, keys[i]);
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s=%s|", keys[i], v ? v : "");
        if (off >= sizeof buf)
            off = sizeof buf - 1;
    }
    lines_add(l, buf);
}

/* ------------------------------------------------------------- replay */

typedef struct replay {
    ami_state *st;
    sent_action *sent;
    size_t nsent;
    /* the list in flight */
    const sent_action *list;
    char *expect_store; /* the store's view at the response */
    lines items;
    const ami_packet *pending[4096];
    ami_packet *owned[4096];
    size_t nitems;
    int seen_bridgelist, seen_queuestatus;
    size_t compared;
} replay;

static const sent_action *find_sent(replay *r, const char *id)
{
    for (size_t i = 0; id && i < r->nsent; i++) {
        if (strcmp(r->sent[i].id, id) == 0)
            return &r->sent[i];
    }
    return NULL;
}

static bool is_list(const sent_action *a)
{
    static const char *const names[] = {"CoreShowChannels", "BridgeList",  "BridgeInfo",
                                        "QueueStatus",      "ParkedCalls", NULL};
    for (size_t i = 0; names[i]; i++) {
        if (strcmp(a->name, names[i]) == 0)
            return true;
    }
    return false;
}

/* The store's view of what list `a` shows, as canonical lines. */
static char *store_view(replay *r, const sent_action *a)
{
    lines l = {0};
    size_t c = 0;
    const ami_state_object *o;
    if (strcmp(a->name, "CoreShowChannels") == 0) {
        while ((o = ami_state_next(r->st, AMI_STATE_CHANNEL, &c)))
            line_of(&l, o, get_obj, CHANNEL_KEYS);
    } else if (strcmp(a->name, "BridgeInfo") == 0) {
        const ami_state_object *b = ami_state_find(r->st, AMI_STATE_BRIDGE, a->arg);
        if (b) {
            line_of(&l, b, get_obj, BRIDGE_KEYS);
            while ((o = ami_state_next_in(r->st, b, AMI_STATE_CHANNEL, &c)))
                line_of(&l, o, get_obj, BRIDGED_KEYS);
        }
    } else if (strcmp(a->name, "BridgeList") == 0) {
        if (r->seen_bridgelist) {
            while ((o = ami_state_next(r->st, AMI_STATE_BRIDGE, &c)))
                line_of(&l, o, get_obj, BRIDGE_KEYS);
        }
    } else if (strcmp(a->name, "QueueStatus") == 0) {
        if (r->seen_queuestatus) {
            while ((o = ami_state_next(r->st, AMI_STATE_QUEUE, &c))) {
                if (!a->arg[0] || strcmp(a->arg, ami_state_object_id(o)) == 0)
                    line_of(&l, o, get_obj, QUEUE_KEYS);
            }
            c = 0;
            while ((o = ami_state_next(r->st, AMI_STATE_MEMBER, &c))) {
                const char *q = ami_state_object_get(o, "Queue");
                const char *m = ami_state_object_get(o, "Interface");
                if ((!a->arg[0] || strcmp(a->arg, q) == 0) &&
                    (!a->member[0] || strcmp(a->member, m) == 0))
                    line_of(&l, o, get_obj, MEMBER_KEYS);
            }
        }
        c = 0;
        while ((o = ami_state_next(r->st, AMI_STATE_CALLER, &c))) {
            if (!a->arg[0] || strcmp(a->arg, ami_state_object_get(o, "Queue")) == 0)
                line_of(&l, o, get_obj, CALLER_KEYS);
        }
    } else if (strcmp(a->name, "ParkedCalls") == 0) {
        while ((o = ami_state_next(r->st, AMI_STATE_PARKED, &c)))
            line_of(&l, o, get_obj, PARKED_KEYS);
    }
    return lines_join(&l);
}

static void list_item(replay *r, const ami_packet *p)
{
    const sent_action *a = r->list;
    const char *ev = ami_packet_event_name(p);
    if (strcmp(ev, "CoreShowChannel") == 0) {
        line_of(&r->items, p, get_pkt, CHANNEL_KEYS);
    } else if (strcmp(ev, "BridgeInfoChannel") == 0) {
        /* The store names the bridge; the item does not. */
        lines tmp = {0};
        line_of(&tmp, p, get_pkt, BRIDGED_KEYS);
        char *s = lines_join(&tmp);
        s[strlen(s) - 1] = '\0';
        char *bid = strstr(s, "BridgeId=");
        char buf[4096];
        if (bid)
            *bid = '\0';
        snprintf(buf, sizeof buf, "%sBridgeId=%s|", s, a->arg);
        lines_add(&r->items, buf);
        free(s);
    } else if (strcmp(ev, "BridgeInfoComplete") == 0) {
        line_of(&r->items, p, get_pkt, BRIDGE_KEYS);
    } else if (strcmp(ev, "BridgeListItem") == 0) {
        if (r->seen_bridgelist)
            line_of(&r->items, p, get_pkt, BRIDGE_KEYS);
    } else if (strcmp(ev, "QueueParams") == 0) {
        if (r->seen_queuestatus)
            line_of(&r->items, p, get_pkt, QUEUE_KEYS);
    } else if (strcmp(ev, "QueueMember") == 0) {
        if (r->seen_queuestatus)
            line_of(&r->items, p, get_pkt, MEMBER_KEYS);
    } else if (strcmp(ev, "QueueEntry") == 0) {
        line_of(&r->items, p, get_pkt, CALLER_KEYS);
    } else if (strcmp(ev, "ParkedCall") == 0) {
        line_of(&r->items, p, get_pkt, PARKED_KEYS);
    }
    if (r->nitems < 4096)
        assert_int_equal(ami_packet_dup(p, &r->owned[r->nitems++]), 0);
}

static void list_done(replay *r, const char *capture)
{
    char *got = lines_join(&r->items);
    if (strcmp(got, r->expect_store) != 0) {
        fprintf(stderr, "--- list %s %s\n%s--- store\n%s", r->list->name, r->list->id, got,
                r->expect_store);
        fail_msg("%s: %s (%s) differs from the store built from events\nlist:\n%s\nstore:\n%s",
                 capture, r->list->name, r->list->id, got, r->expect_store);
    }
    r->compared++;
    /* Learn from the list what events could not tell; a list that matched
     * must then change nothing the comparison covers (checked by the next
     * comparison, which would differ). */
    for (size_t i = 0; i < r->nitems; i++) {
        assert_true(ami_state_feed_event(r->st, r->owned[i]) >= 0);
        ami_packet_free(r->owned[i]);
    }
    r->nitems = 0;
    if (strcmp(r->list->name, "BridgeList") == 0)
        r->seen_bridgelist = 1;
    if (strcmp(r->list->name, "QueueStatus") == 0 && !r->list->arg[0])
        r->seen_queuestatus = 1;
    free(got);
    free(r->expect_store);
    r->expect_store = NULL;
    r->list = NULL;
}

static void on_packet(replay *r, const ami_packet *p, const char *capture)
{
    ami_packet_kind k = ami_packet_kind_of(p);
    const char *id = ami_packet_action_id(p);
    const sent_action *a = find_sent(r, id);
    if (k == AMI_PACKET_RESPONSE && a && is_list(a)) {
        if (ami_packet_response_type(p) != AMI_RESPONSE_SUCCESS)
            return; /* an empty list by error */
        assert_null(r->list);
        r->list = a;
        r->expect_store = store_view(r, a);
        return;
    }
    if (k != AMI_PACKET_EVENT)
        return;
    if (r->list && a == r->list) {
        const char *el = ami_packet_get(p, "EventList");
        if (el && strcmp(el, "Complete") == 0) {
            if (strcmp(ami_packet_event_name(p), "BridgeInfoComplete") == 0)
                list_item(r, p);
            list_done(r, capture);
        } else {
            list_item(r, p);
        }
        return;
    }
    assert_true(ami_state_feed_event(r->st, p) >= 0);
}

typedef struct splitter {
    int mode; /* 0 whole, 1 byte, 2 random */
    uint64_t seed;
} splitter;

static size_t next_chunk(splitter *s, size_t remaining)
{
    if (s->mode == 0)
        return remaining;
    if (s->mode == 1)
        return 1;
    s->seed = s->seed * 6364136223846793005ull + 1442695040888963407ull;
    size_t n = 1 + (size_t)((s->seed >> 33) % 900);
    return n < remaining ? n : remaining;
}

static void replay_capture(const char *name, splitter *sp, ami_state_stats *stats_out,
                           size_t *compared)
{
    char path[256];
    snprintf(path, sizeof path, "%s.raw", name);
    size_t len;
    char *data = fixture_load(path, &len);
    replay r;
    memset(&r, 0, sizeof r);
    sent_action sent[256];
    r.sent = sent;
    r.nsent = parse_sent(name, sent, 256);
    assert_int_equal(ami_state_create(&r.st), 0);
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, AMI_PARSER_EXPECT_BANNER), 0);
    size_t off = 0;
    while (off < len) {
        size_t n = next_chunk(sp, len - off);
        assert_int_equal(ami_parser_feed(p, data + off, n), 0);
        off += n;
        const ami_packet *pk;
        int rc;
        while ((rc = ami_parser_next(p, &pk)) == 1)
            on_packet(&r, pk, name);
        assert_int_equal(rc, 0);
    }
    assert_null(r.list);
    ami_state_stats_get(r.st, stats_out);
    *compared = r.compared;
    /* Every call ended: nothing of a call may remain. */
    assert_int_equal(ami_state_count(r.st, AMI_STATE_CHANNEL), 0);
    assert_int_equal(ami_state_call_count(r.st), 0);
    assert_int_equal(ami_state_count(r.st, AMI_STATE_CALLER), 0);
    assert_int_equal(ami_state_count(r.st, AMI_STATE_PARKED), 0);
    /* The JSON of the end state is well-formed enough to start and end right. */
    char *json;
    size_t jl;
    assert_int_equal(ami_state_to_json(r.st, &json, &jl), 0);
    assert_true(jl > 2 && json[0] == '{' && json[jl - 1] == '}');
    free(json);
    ami_parser_free(p);
    ami_state_free(r.st);
    free(data);
}

static void replay_all_ways(const char *name, size_t min_compared)
{
    ami_state_stats ref, s;
    size_t cref, c;
    splitter whole = {0, 0};
    replay_capture(name, &whole, &ref, &cref);
    assert_true(cref >= min_compared);
    splitter byte = {1, 0};
    replay_capture(name, &byte, &s, &c);
    assert_int_equal(c, cref);
    assert_int_equal(s.applied, ref.applied);
    for (uint64_t seed = 1; seed <= 8; seed++) {
        splitter rnd = {2, seed * 0x9E3779B97F4A7C15ull};
        replay_capture(name, &rnd, &s, &c);
        assert_int_equal(c, cref);
        assert_int_equal(s.applied, ref.applied);
        assert_int_equal(s.contradictions, ref.contradictions);
    }
}

static void test_queue_callcenter(void **state)
{
    (void)state;
    /* 4 QueueStatus (the idle one learnt), 3 CoreShowChannels. */
    replay_all_ways("queue_callcenter", 7);
}

static void test_bridge_transfer(void **state)
{
    (void)state;
    /* 3 BridgeList, 1 BridgeInfo, 2 CoreShowChannels. */
    replay_all_ways("bridge_transfer", 6);
}

static void test_park_hold(void **state)
{
    (void)state;
    replay_all_ways("park_hold", 2);
}

static void test_other_captures(void **state)
{
    (void)state;
    /* Event streams without state lists: they must end empty too. */
    static const char *const names[] = {"originate_events", "burst_events", "events_mask",
                                        "events_filter_exclude", NULL};
    for (size_t i = 0; names[i]; i++) {
        ami_state_stats s;
        size_t c;
        splitter rnd = {2, 42 + i};
        replay_capture(names[i], &rnd, &s, &c);
    }
}

/* ------------------------------------------- busy_snapshot: list ingestion */

typedef struct collected {
    char id[32];
    ami_result *r;
} collected;

/* Parse a capture into one ami_result per list action (by ActionID). */
static size_t collect_results(const char *name, sent_action *sent, size_t nsent, collected *out)
{
    char path[256];
    snprintf(path, sizeof path, "%s.raw", name);
    size_t len;
    char *data = fixture_load(path, &len);
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, AMI_PARSER_EXPECT_BANNER), 0);
    assert_int_equal(ami_parser_feed(p, data, len), 0);
    const ami_packet *pk;
    size_t n = 0;
    while (ami_parser_next(p, &pk) == 1) {
        const char *id = ami_packet_action_id(pk);
        if (!id)
            continue;
        collected *c = NULL;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(out[i].id, id) == 0)
                c = &out[i];
        }
        if (ami_packet_kind_of(pk) == AMI_PACKET_RESPONSE && !c) {
            const sent_action *a = NULL;
            for (size_t i = 0; i < nsent; i++) {
                if (strcmp(sent[i].id, id) == 0)
                    a = &sent[i];
            }
            if (!a)
                continue;
            c = &out[n++];
            snprintf(c->id, sizeof c->id, "%s", id);
            c->r = ami__result_create(id, strlen(id), a->name, strlen(a->name));
            ami__result_set_response(c->r, pk);
            const char *el = ami_packet_get(pk, "EventList");
            if (!el || strcmp(el, "start") != 0)
                ami__result_finish(c->r);
        } else if (c && ami_packet_kind_of(pk) == AMI_PACKET_EVENT) {
            ami__result_add_event(c->r, pk);
            const char *el = ami_packet_get(pk, "EventList");
            if (el && strcmp(el, "Complete") == 0)
                ami__result_finish(c->r);
        }
    }
    ami_parser_free(p);
    free(data);
    return n;
}

static ami_result *result_for(collected *c, size_t n, sent_action *sent, size_t nsent,
                              const ami_action *a)
{
    const char *name = ami_action_name(a);
    const char *arg = ami_action_get(a, "BridgeUniqueid");
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < nsent; j++) {
            if (strcmp(sent[j].id, c[i].id) == 0 && strcmp(sent[j].name, name) == 0 &&
                (!arg || strcmp(sent[j].arg, arg) == 0) && c[i].r)
                return c[i].r;
        }
    }
    return NULL;
}

static size_t count_items(const ami_result *r, const char *event)
{
    size_t n = 0;
    for (size_t i = 0; i < ami_result_event_count(r); i++) {
        if (strcmp(ami_packet_event_name(ami_result_event(r, i)), event) == 0)
            n++;
    }
    return n;
}

static void test_busy_snapshot_ingest(void **state)
{
    (void)state;
    sent_action sent[64];
    size_t nsent = parse_sent("busy_snapshot", sent, 64);
    collected col[64];
    memset(col, 0, sizeof col);
    size_t ncol = collect_results("busy_snapshot", sent, nsent, col);
    ami_state *st;
    assert_int_equal(ami_state_create(&st), 0);
    ami_state_set_now(st, 1000000);
    assert_int_equal(ami_state_is_synced(st), 0);
    ami_action *a;
    unsigned token;
    int rc, actions = 0, binfo = 0, binfo_real = 0;
    const ami_result *csc = NULL, *bl = NULL, *qs = NULL, *ds = NULL;
    while ((rc = ami_state_next_action(st, &a, &token)) == 1) {
        actions++;
        ami_result *r = result_for(col, ncol, sent, nsent, a);
        ami_result *mine = NULL;
        if (strcmp(ami_action_name(a), "BridgeInfo") == 0) {
            binfo++;
            if (!r) {
                /* The capture asked about one bridge only: the others answer
                 * as a bridge gone meanwhile would. */
                mine = ami__result_create("x", 1, "BridgeInfo", 10);
                ami__result_fail(mine, AMI_ERR_ACTION_FAILED, "Bridge not found");
                r = mine;
            } else {
                binfo_real++;
            }
        }
        assert_non_null(r);
        if (strcmp(ami_action_name(a), "CoreShowChannels") == 0)
            csc = r;
        if (strcmp(ami_action_name(a), "BridgeList") == 0)
            bl = r;
        if (strcmp(ami_action_name(a), "QueueStatus") == 0)
            qs = r;
        if (strcmp(ami_action_name(a), "DeviceStateList") == 0)
            ds = r;
        assert_int_equal(ami_state_feed_result(st, token, r), 0);
        /* A second feed of the same token is stale. */
        assert_int_equal(ami_state_feed_result(st, token, r), AMI_ERR_INVALID);
        ami_result_free(mine);
        ami_action_free(a);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(ami_state_is_synced(st), 1);
    assert_int_equal(ami_state_generation(st), 1);
    assert_int_equal(binfo, 6);
    assert_int_equal(binfo_real, 1);
    assert_non_null(csc);
    assert_non_null(bl);
    assert_non_null(qs);
    assert_non_null(ds);
    assert_int_equal(ami_state_count(st, AMI_STATE_CHANNEL), 24);
    assert_int_equal(ami_state_count(st, AMI_STATE_CHANNEL), count_items(csc, "CoreShowChannel"));
    assert_int_equal(ami_state_count(st, AMI_STATE_BRIDGE), 6);
    assert_int_equal(ami_state_count(st, AMI_STATE_QUEUE), count_items(qs, "QueueParams"));
    assert_int_equal(ami_state_count(st, AMI_STATE_MEMBER), count_items(qs, "QueueMember"));
    assert_int_equal(ami_state_count(st, AMI_STATE_CALLER), count_items(qs, "QueueEntry"));
    assert_int_equal(ami_state_count(st, AMI_STATE_DEVICE), count_items(ds, "DeviceStateChange"));
    assert_int_equal(ami_state_count(st, AMI_STATE_PARKED), 0);
    /* Every channel's BridgeId is the list's, and the bridges hold them. */
    size_t in_bridges = 0;
    for (size_t i = 0; i < ami_result_event_count(csc); i++) {
        const ami_packet *e = ami_result_event(csc, i);
        if (strcmp(ami_packet_event_name(e), "CoreShowChannel") != 0)
            continue;
        const ami_state_object *o =
            ami_state_find(st, AMI_STATE_CHANNEL, ami_packet_get(e, "Uniqueid"));
        assert_non_null(o);
        const char *want = ami_packet_get(e, "BridgeId");
        const char *got = ami_state_object_get(o, "BridgeId");
        if (want && want[0]) {
            assert_non_null(got);
            assert_string_equal(got, want);
            in_bridges++;
        } else {
            assert_null(got);
        }
        assert_string_equal(ami_state_object_get(o, "Application"),
                            ami_packet_get(e, "Application"));
        assert_ptr_equal(ami_state_find_channel_by_name(st, ami_packet_get(e, "Channel")), o);
    }
    size_t c = 0, linked = 0;
    const ami_state_object *b;
    while ((b = ami_state_next(st, AMI_STATE_BRIDGE, &c))) {
        size_t cc = 0;
        while (ami_state_next_in(st, b, AMI_STATE_CHANNEL, &cc))
            linked++;
    }
    assert_int_equal(linked, in_bridges);
    /* Members carry the event names, not QueueStatus's. */
    c = 0;
    const ami_state_object *m = ami_state_next(st, AMI_STATE_MEMBER, &c);
    assert_non_null(m);
    assert_non_null(ami_state_object_get(m, "Interface"));
    assert_non_null(ami_state_object_get(m, "MemberName"));
    assert_null(ami_state_object_get(m, "Location"));
    /* Calls group channels by Linkedid. */
    size_t calls = 0, chans = 0;
    c = 0;
    const ami_state_object *first;
    while ((first = ami_state_next_call(st, &c))) {
        calls++;
        size_t cc = 0;
        const ami_state_object *o;
        while ((o = ami_state_next_in_call(st, ami_state_object_get(first, "Linkedid"), &cc))) {
            assert_string_equal(ami_state_object_get(o, "Linkedid"),
                                ami_state_object_get(first, "Linkedid"));
            chans++;
        }
    }
    assert_int_equal(calls, ami_state_call_count(st));
    assert_int_equal(chans, 24);
    assert_true(calls >= 7);
    /* A second resync from the same lists changes nothing. */
    int changes = 0;
    assert_int_equal(ami_state_resync_begin(st), 0);
    while ((rc = ami_state_next_action(st, &a, &token)) == 1) {
        ami_result *r = result_for(col, ncol, sent, nsent, a);
        ami_result *mine = NULL;
        if (!r) {
            mine = ami__result_create("x", 1, "BridgeInfo", 10);
            ami__result_fail(mine, AMI_ERR_ACTION_FAILED, "Bridge not found");
            r = mine;
        }
        ami_state_stats before, after;
        ami_state_stats_get(st, &before);
        assert_int_equal(ami_state_feed_result(st, token, r), 0);
        ami_state_stats_get(st, &after);
        changes += after.objects != before.objects || after.bytes != before.bytes;
        ami_result_free(mine);
        ami_action_free(a);
    }
    assert_int_equal(changes, 0);
    assert_int_equal(ami_state_generation(st), 2);
    for (size_t i = 0; i < ncol; i++)
        ami_result_free(col[i].r);
    ami_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_callcenter),
        cmocka_unit_test(test_bridge_transfer),
        cmocka_unit_test(test_park_hold),
        cmocka_unit_test(test_other_captures),
        cmocka_unit_test(test_busy_snapshot_ingest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
