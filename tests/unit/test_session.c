/*
 * Session tests: the captures in tests/fixtures/ami are replayed into a
 * session after sending the actions of the matching .sent file, in several
 * feeding modes that must all give the same outcome; then hand-made streams
 * cover what Asterisk 22 never sends (legacy lists and Command framing,
 * missing ActionIDs, hostile bytes). Time is a plain number: no sleeps.
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

#include <ami/ami.h>

#include "fixture.h"

#define BANNER      "Asterisk Call Manager/11.0.0\r\n"
#define MAX_RESULTS 128

/* ------------------------------------------------------------ helpers */

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void text_add(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_printf(text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void text_printf(text *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    text_add(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void text_packet(text *t, const ami_packet *p)
{
    char *flat = packet_flatten(p);
    text_add(t, flat, strlen(flat));
    text_add(t, "\n", 1);
    free(flat);
}

/* Everything a session hands out, in order. */
typedef struct recorder {
    ami_result *results[MAX_RESULTS];
    size_t nresults;
    size_t calls; /* result callbacks, including any beyond MAX_RESULTS */
    size_t events;
    text event_log; /* every event flattened, in delivery order */
} recorder;

static void on_result(ami_session *s, ami_result *r, void *ud)
{
    (void)s;
    recorder *rec = ud;
    rec->calls++;
    assert_true(rec->nresults < MAX_RESULTS);
    rec->results[rec->nresults++] = r;
}

static void on_event(ami_session *s, const ami_packet *p, void *ud)
{
    (void)s;
    recorder *rec = ud;
    rec->events++;
    text_packet(&rec->event_log, p);
}

static void drain_queue(ami_session *s, recorder *rec)
{
    ami_packet *p;
    while (ami_session_next_event(s, &p) == 1) {
        rec->events++;
        text_packet(&rec->event_log, p);
        ami_packet_free(p);
    }
}

static void recorder_free(recorder *rec)
{
    for (size_t i = 0; i < rec->nresults; i++)
        ami_result_free(rec->results[i]);
    free(rec->event_log.s);
    memset(rec, 0, sizeof(*rec));
}

static ami_result *result_by_id(const recorder *rec, const char *id)
{
    for (size_t i = 0; i < rec->nresults; i++) {
        if (strcmp(ami_result_action_id(rec->results[i]), id) == 0)
            return rec->results[i];
    }
    fail_msg("no result for ActionID %s", id);
    return NULL;
}

static ami_action *action_from_packet(const ami_packet *pkt)
{
    ami_action *a = NULL;
    const char *name;
    ami_packet_header(pkt, 0, NULL, NULL, &name, NULL);
    assert_int_equal(ami_action_create(&a, name), AMI_OK);
    for (size_t i = 1; i < ami_packet_count(pkt); i++) {
        const char *k, *v;
        size_t kl, vl;
        ami_packet_header(pkt, i, &k, &kl, &v, &vl);
        assert_int_equal(ami_action_addn(a, k, kl, v, vl), AMI_OK);
    }
    return a;
}

/* Send every action of `<name>.sent` (keeping its ActionIDs). Returns how
 * many were sent; *all_actions tells whether every packet was an action. */
static size_t send_script(ami_session *s, const char *name, recorder *rec, bool *all_actions)
{
    char file[128];
    snprintf(file, sizeof(file), "%s.sent", name);
    size_t len;
    char *data = fixture_load(file, &len);
    ami_parser *p = NULL;
    assert_int_equal(ami_parser_create(&p, 0), AMI_OK);
    assert_int_equal(ami_parser_feed(p, data, len), AMI_OK);
    const ami_packet *pkt;
    size_t sent = 0;
    *all_actions = true;
    while (ami_parser_next(p, &pkt) == 1) {
        if (ami_packet_kind_of(pkt) != AMI_PACKET_ACTION) {
            *all_actions = false;
            continue;
        }
        ami_action *a = action_from_packet(pkt);
        assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, on_result, rec, NULL), AMI_OK);
        ami_action_free(a);
        sent++;
    }
    ami_parser_free(p);
    free(data);
    return sent;
}

typedef enum feed_mode {
    FEED_CB_WHOLE,   /* event callback, one recv */
    FEED_CB_BYTES,   /* event callback, one byte per recv */
    FEED_CB_ODD,     /* event callback, 7-byte chunks */
    FEED_QUEUE_TINY, /* event queue limited to 2, 1000-byte chunks */
    FEED_QUEUE_WHOLE /* default queue, one recv */
} feed_mode;

/* Feed `data` like a socket reader that honours back-pressure. */
static void feed(ami_session *s, const char *data, size_t len, size_t chunk, recorder *rec)
{
    size_t off = 0;
    while (off < len) {
        size_t n = len - off;
        if (chunk && n > chunk)
            n = chunk;
        long got = ami_session_recv(s, data + off, n, 0);
        assert_true(got >= 0);
        assert_true((size_t)got <= n);
        off += (size_t)got;
        if ((size_t)got < n) {
            /* Consumed less: only a full queue may cause that. */
            assert_true(ami_session_queued_events(s) > 0);
            drain_queue(s, rec);
        }
    }
    /* Let the parser hand out what it still holds. */
    do {
        drain_queue(s, rec);
        assert_int_equal(ami_session_recv(s, NULL, 0, 0), 0);
    } while (ami_session_queued_events(s) > 0);
}

static ami_session *new_session(feed_mode mode, recorder *rec)
{
    ami_session *s = NULL;
    assert_int_equal(ami_session_create(&s), AMI_OK);
    if (mode == FEED_QUEUE_TINY)
        ami_session_set_queue_limits(s, 2, 0);
    else if (mode != FEED_QUEUE_WHOLE)
        ami_session_set_event_cb(s, on_event, rec);
    return s;
}

static size_t chunk_of(feed_mode mode)
{
    switch (mode) {
    case FEED_CB_BYTES:
        return 1;
    case FEED_CB_ODD:
        return 7;
    case FEED_QUEUE_TINY:
        return 1000;
    default:
        return 0;
    }
}

/* Send the capture's actions, check the bytes the session writes are the
 * client's bytes of the capture, then replay the server's bytes. */
static ami_session *run_fixture(const char *name, feed_mode mode, recorder *rec)
{
    ami_session *s = new_session(mode, rec);
    bool all_actions;
    size_t sent = send_script(s, name, rec, &all_actions);
    assert_int_equal(ami_session_pending_count(s), sent);

    char file[128];
    size_t len;
    if (all_actions) {
        snprintf(file, sizeof(file), "%s.sent", name);
        char *expect = fixture_load(file, &len);
        const char *out;
        size_t out_len;
        ami_session_output(s, &out, &out_len);
        assert_int_equal(out_len, len);
        assert_memory_equal(out, expect, len);
        free(expect);
    }
    ami_session_consume(s, SIZE_MAX);

    snprintf(file, sizeof(file), "%s.raw", name);
    char *raw = fixture_load(file, &len);
    feed(s, raw, len, chunk_of(mode), rec);
    free(raw);
    assert_int_equal(rec->calls, rec->nresults);
    return s;
}

/* A canonical description of all outcomes, to compare feeding modes. */
static char *summarize(const ami_session *s, const recorder *rec)
{
    text t = {0};
    for (size_t i = 0; i < rec->nresults; i++) {
        const ami_result *r = rec->results[i];
        text_printf(&t, "result %s status %d list %d msg [%s]\n", ami_result_action_id(r),
                    ami_result_status(r), ami_result_is_list(r), ami_result_message(r));
        if (ami_result_response(r))
            text_packet(&t, ami_result_response(r));
        for (size_t j = 0; j < ami_result_event_count(r); j++)
            text_packet(&t, ami_result_event(r, j));
        for (size_t j = 0; j < ami_result_output_count(r); j++) {
            size_t len;
            const char *line = ami_result_output_line(r, j, &len);
            text_add(&t, "out|", 4);
            text_add(&t, line, len);
            text_add(&t, "\n", 1);
        }
    }
    text_printf(&t, "events %zu unmatched %llu goodbye %d\n", rec->events,
                (unsigned long long)ami_session_unmatched_count(s), ami_session_got_goodbye(s));
    text_add(&t, rec->event_log.s ? rec->event_log.s : "", rec->event_log.len);
    return t.s;
}

/* Every completed list ends with its Complete event and counts its items. */
static void assert_lists_well_formed(const recorder *rec)
{
    for (size_t i = 0; i < rec->nresults; i++) {
        const ami_result *r = rec->results[i];
        if (!ami_result_is_list(r))
            continue;
        size_t n = ami_result_event_count(r);
        assert_true(n >= 1);
        const ami_packet *last = ami_result_event(r, n - 1);
        assert_string_equal(ami_packet_get(last, "EventList"), "Complete");
        const char *items = ami_packet_get(last, "ListItems");
        if (items)
            assert_int_equal(strtoul(items, NULL, 10), n - 1);
        for (size_t j = 0; j < n; j++)
            assert_string_equal(ami_packet_action_id(ami_result_event(r, j)),
                                ami_result_action_id(r));
    }
}

/* Events in the capture minus those a list took. */
static size_t count_events(const char *name)
{
    char file[128];
    snprintf(file, sizeof(file), "%s.raw", name);
    size_t len;
    char *raw = fixture_load(file, &len);
    ami_parser *p = NULL;
    assert_int_equal(ami_parser_create(&p, AMI_PARSER_EXPECT_BANNER), AMI_OK);
    assert_int_equal(ami_parser_feed(p, raw, len), AMI_OK);
    const ami_packet *pkt;
    size_t n = 0;
    while (ami_parser_next(p, &pkt) == 1)
        n += ami_packet_kind_of(pkt) == AMI_PACKET_EVENT;
    ami_parser_free(p);
    free(raw);
    return n;
}

static size_t list_events(const recorder *rec)
{
    size_t n = 0;
    for (size_t i = 0; i < rec->nresults; i++)
        n += ami_result_event_count(rec->results[i]);
    return n;
}

/* Replay in every mode; all must agree with the callback/whole run, which
 * is returned (with its session) for fixture-specific checks. */
static ami_session *run_all_modes(const char *name, recorder *rec)
{
    ami_session *s = run_fixture(name, FEED_CB_WHOLE, rec);
    char *want = summarize(s, rec);
    static const feed_mode modes[] = {FEED_CB_BYTES, FEED_CB_ODD, FEED_QUEUE_TINY,
                                      FEED_QUEUE_WHOLE};
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        recorder other = {0};
        ami_session *s2 = run_fixture(name, modes[m], &other);
        char *got = summarize(s2, &other);
        if (strcmp(want, got) != 0)
            fail_msg("%s: mode %d differs from a whole feed", name, (int)modes[m]);
        free(got);
        assert_int_equal(ami_session_pending_count(s2), 0);
        ami_session_free(s2);
        recorder_free(&other);
    }
    free(want);
    assert_int_equal(ami_session_pending_count(s), 0);
    assert_lists_well_formed(rec);
    /* Unmatched responses are delivered along with the events. */
    assert_int_equal(rec->events + list_events(rec),
                     count_events(name) + ami_session_unmatched_count(s));
    assert_string_equal(ami_session_banner(s), "Asterisk Call Manager/11.0.0");
    int major, minor, patch;
    assert_int_equal(ami_session_version(s, &major, &minor, &patch), AMI_OK);
    assert_int_equal(major, 11);
    assert_int_equal(minor, 0);
    assert_int_equal(patch, 0);
    return s;
}

/* ---------------------------------------------------- fixture replays */

static void test_burst_events(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = run_all_modes("burst_events", &rec);
    assert_int_equal(rec.nresults, 52);
    char id[16];
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "b-%02d", i);
        const ami_result *r = result_by_id(&rec, id);
        assert_int_equal(ami_result_status(r), AMI_OK);
        assert_string_equal(ami_result_message(r), "Originate successfully queued");
        assert_false(ami_result_is_list(r));
    }
    /* Responses to one connection come back in request order. */
    for (size_t i = 1; i + 1 < rec.nresults; i++) {
        snprintf(id, sizeof(id), "b-%02d", (int)(i - 1) % 100);
        assert_string_equal(ami_result_action_id(rec.results[i]), id);
    }
    assert_int_equal(ami_session_unmatched_count(s), 0);
    assert_true(ami_session_got_goodbye(s));
    assert_int_equal(ami_result_status(result_by_id(&rec, "bye")), AMI_OK);
    /* Events that carry a pending non-list action's ID (OriginateResponse)
     * went to the application, and no event was lost. */
    assert_int_equal(rec.events, count_events("burst_events"));
    assert_non_null(strstr(rec.event_log.s, "OriginateResponse"));
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_misc_actions(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = run_all_modes("misc_actions", &rec);
    assert_int_equal(ami_session_unmatched_count(s), 0);
    const ami_result *r = result_by_id(&rec, "ping-1");
    assert_int_equal(ami_result_status(r), AMI_OK);
    assert_string_equal(ami_packet_get(ami_result_response(r), "Ping"), "Pong");
    r = result_by_id(&rec, "gv-1");
    assert_string_equal(ami_packet_get(ami_result_response(r), "Value"), "hello: world");
    r = result_by_id(&rec, "gv-3");
    assert_int_equal(ami_result_status(r), AMI_OK);
    assert_string_equal(ami_packet_get(ami_result_response(r), "Value"), "");
    /* Status with no channels: an empty list. */
    r = result_by_id(&rec, "st-1");
    assert_true(ami_result_is_list(r));
    assert_int_equal(ami_result_event_count(r), 1);
    assert_string_equal(ami_packet_event_name(ami_result_event(r, 0)), "StatusComplete");
    r = result_by_id(&rec, "dsl-1");
    assert_true(ami_result_is_list(r));
    assert_true(ami_result_event_count(r) >= 1);
    r = result_by_id(&rec, "sdp-1");
    assert_true(ami_result_is_list(r));
    assert_true(ami_result_event_count(r) > 1);
    assert_string_equal(ami_packet_event_name(ami_result_event(r, 0)), "ListDialplan");
    /* The UserEvent echo carries ue-1 but went to the application. */
    assert_int_equal(ami_result_event_count(result_by_id(&rec, "ue-1")), 0);
    assert_non_null(strstr(rec.event_log.s, "UserEvent\x1f"
                                            "AmiTest\x1e"
                                            "ActionID\x1f"
                                            "ue-1\x1e"));
    assert_non_null(strstr(rec.event_log.s, "Event\x1fVarSet"));
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_coreshowchannels_lists(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = run_all_modes("coreshowchannels", &rec);
    const ami_result *r = result_by_id(&rec, "4");
    assert_int_equal(ami_result_status(r), AMI_OK);
    assert_true(ami_result_is_list(r));
    assert_int_equal(ami_result_event_count(r), 7);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(ami_packet_event_name(ami_result_event(r, i)), "CoreShowChannel");
    assert_string_equal(ami_packet_event_name(ami_result_event(r, 6)), "CoreShowChannelsComplete");
    assert_string_equal(ami_packet_get(ami_result_event(r, 6), "ListItems"), "6");
    assert_string_equal(ami_packet_get(ami_result_response(r), "EventList"), "start");

    /* Hangup with a regex channel answers with its own list. */
    r = result_by_id(&rec, "5");
    assert_true(ami_result_is_list(r));
    size_t n = ami_result_event_count(r);
    assert_true(n > 1);
    for (size_t i = 0; i + 1 < n; i++)
        assert_string_equal(ami_packet_event_name(ami_result_event(r, i)), "ChannelHungup");
    assert_string_equal(ami_packet_event_name(ami_result_event(r, n - 1)),
                        "ChannelsHungupListComplete");

    r = result_by_id(&rec, "6");
    assert_true(ami_result_is_list(r));
    assert_int_equal(ami_result_event_count(r), 1);
    assert_string_equal(ami_packet_get(ami_result_event(r, 0), "ListItems"), "0");
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_queuestatus_lists(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = run_all_modes("queuestatus", &rec);
    for (int i = 2; i <= 7; i++) {
        char id[4];
        snprintf(id, sizeof(id), "%d", i);
        assert_true(ami_result_is_list(result_by_id(&rec, id)));
    }
    const ami_result *r = result_by_id(&rec, "3");
    assert_string_equal(ami_packet_event_name(ami_result_event(r, 0)), "QueueParams");
    assert_string_equal(ami_packet_get(ami_result_event(r, 0), "Queue"), "sales");
    /* The queue that does not exist: an empty list. */
    r = result_by_id(&rec, "7");
    assert_int_equal(ami_result_event_count(r), 1);
    assert_string_equal(ami_packet_event_name(ami_result_event(r, 0)), "QueueStatusComplete");
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_status_with_channel(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = run_all_modes("status_with_channel", &rec);
    const ami_result *r = result_by_id(&rec, "2");
    size_t n = ami_result_event_count(r);
    assert_int_equal(n, 5);
    assert_string_equal(ami_packet_get(ami_result_event(r, n - 1), "Items"), "4");
    r = result_by_id(&rec, "3");
    assert_int_equal(ami_result_event_count(r), 2);
    assert_int_equal(ami_packet_count_key(ami_result_event(r, 0), "Variable"), 3);
    r = result_by_id(&rec, "4");
    assert_int_equal(ami_result_event_count(r), 2);
    assert_string_equal(ami_packet_event_name(ami_result_event(r, 0)), "BridgeListItem");
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_errors_fixture(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = run_all_modes("errors", &rec);
    const ami_result *r = result_by_id(&rec, "pre-1");
    assert_int_equal(ami_result_status(r), AMI_ERR_ACTION_FAILED);
    assert_string_equal(ami_result_message(r), "Permission denied");
    r = result_by_id(&rec, "e1");
    assert_int_equal(ami_result_status(r), AMI_ERR_ACTION_FAILED);
    assert_non_null(strstr(ami_result_message(r), "Invalid/unknown command"));
    r = result_by_id(&rec, "e9");
    assert_int_equal(ami_result_status(r), AMI_OK);
    /* The packet without Action: could not be sent through the API, so its
     * answer (ActionID e3) matches nothing: counted and delivered. */
    assert_int_equal(ami_session_unmatched_count(s), 1);
    assert_non_null(strstr(rec.event_log.s, "ActionID\x1f"
                                            "e3"));
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_login_ok_without_action_ids(void **state)
{
    (void)state;
    /* Neither Login nor Logoff carries an ActionID in this capture: the
     * session assigns its own, the server echoes none, so responses are
     * matched in request order. */
    recorder rec = {0};
    ami_session *s = new_session(FEED_CB_WHOLE, &rec);
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Login"), AMI_OK);
    const char *id1 = NULL, *id2 = NULL;
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, on_result, &rec, &id1), AMI_OK);
    ami_action_free(a);
    assert_int_equal(ami_action_create(&a, "Logoff"), AMI_OK);
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, on_result, &rec, &id2), AMI_OK);
    ami_action_free(a);
    assert_string_not_equal(id1, id2);
    assert_non_null(strstr(id1, "ami-"));
    char want1[128], want2[128];
    snprintf(want1, sizeof(want1), "%s", id1);
    snprintf(want2, sizeof(want2), "%s", id2);

    size_t len;
    char *raw = fixture_load("login_ok.raw", &len);
    feed(s, raw, len, 0, &rec);
    free(raw);
    assert_int_equal(rec.nresults, 2);
    assert_string_equal(ami_result_action_id(rec.results[0]), want1);
    assert_string_equal(ami_result_message(rec.results[0]), "Authentication accepted");
    assert_string_equal(ami_result_action_id(rec.results[1]), want2);
    assert_string_equal(ami_result_message(rec.results[1]), "Thanks for all the fish.");
    assert_int_equal(ami_result_status(rec.results[1]), AMI_OK);
    assert_true(ami_session_got_goodbye(s));
    assert_int_equal(rec.events, 2); /* FullyBooted, SuccessfulAuth */
    assert_int_equal(ami_session_unmatched_count(s), 0);
    ami_session_free(s);
    recorder_free(&rec);
}

/* --------------------------------------------------- Command framings */

static void test_command_framings_agree(void **state)
{
    (void)state;
    recorder modern = {0};
    ami_session *s = run_fixture("command_dialplan_show_test", FEED_CB_BYTES, &modern);
    const ami_result *r = result_by_id(&modern, "2");
    assert_int_equal(ami_result_status(r), AMI_OK);
    size_t n = ami_result_output_count(r);
    assert_true(n > 5);
    assert_int_equal(n, ami_packet_count_key(ami_result_response(r), "Output"));
    bool blank = false, indented = false;

    /* The same lines in the Asterisk <= 13 framing. */
    text legacy = {0};
    text_add(&legacy, BANNER, strlen(BANNER));
    text_printf(&legacy, "Response: Follows\r\nPrivilege: Command\r\nActionID: L1\r\n");
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *line = ami_result_output_line(r, i, &len);
        blank |= len == 0;
        indented |= len > 0 && line[0] == ' ';
        text_add(&legacy, line, len);
        text_add(&legacy, "\n", 1);
    }
    assert_true(blank);
    assert_true(indented);
    text_printf(&legacy, "--END COMMAND--\r\n\r\n");

    recorder old = {0};
    ami_session *s2 = new_session(FEED_CB_WHOLE, &old);
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Command"), AMI_OK);
    assert_int_equal(ami_action_add(a, "Command", "dialplan show test"), AMI_OK);
    assert_int_equal(ami_action_add(a, "ActionID", "L1"), AMI_OK);
    assert_int_equal(ami_session_send(s2, a, AMI_NO_DEADLINE, on_result, &old, NULL), AMI_OK);
    ami_action_free(a);
    feed(s2, legacy.s, legacy.len, 3, &old);
    assert_int_equal(old.nresults, 1);
    const ami_result *r2 = old.results[0];
    assert_int_equal(ami_result_status(r2), AMI_OK);
    assert_true(ami_packet_is_legacy_output(ami_result_response(r2)));
    assert_int_equal(ami_result_output_count(r2), n);
    for (size_t i = 0; i < n; i++) {
        size_t l1, l2;
        const char *a1 = ami_result_output_line(r, i, &l1);
        const char *a2 = ami_result_output_line(r2, i, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(a1, a2, l1);
    }
    assert_null(ami_result_output_line(r2, n, NULL));
    free(legacy.s);
    ami_session_free(s2);
    recorder_free(&old);
    ami_session_free(s);
    recorder_free(&modern);
}

static void test_command_empty_output(void **state)
{
    (void)state;
    /* One "Output: " with an empty value is exposed as one empty line: the
     * result shows exactly what the server sent. */
    recorder rec = {0};
    ami_session *s = run_fixture("command_empty_output", FEED_CB_WHOLE, &rec);
    const ami_result *r = result_by_id(&rec, "2");
    assert_int_equal(ami_result_output_count(r), 1);
    size_t len = 99;
    assert_string_equal(ami_result_output_line(r, 0, &len), "");
    assert_int_equal(len, 0);
    ami_session_free(s);
    recorder_free(&rec);

    /* An error reply still carries its output. */
    s = run_fixture("command_usage_error", FEED_CB_WHOLE, &rec);
    r = result_by_id(&rec, "2");
    assert_int_equal(ami_result_status(r), AMI_ERR_ACTION_FAILED);
    assert_true(ami_result_output_count(r) > 0);
    ami_session_free(s);
    recorder_free(&rec);
}

/* ------------------------------------------------- hand-made streams */

static ami_session *session_with(recorder *rec, bool with_cb)
{
    ami_session *s = NULL;
    assert_int_equal(ami_session_create(&s), AMI_OK);
    if (with_cb)
        ami_session_set_event_cb(s, on_event, rec);
    return s;
}

static void send_named(ami_session *s, const char *name, const char *id, uint64_t deadline,
                       recorder *rec)
{
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, name), AMI_OK);
    if (id)
        assert_int_equal(ami_action_add(a, "ActionID", id), AMI_OK);
    assert_int_equal(ami_session_send(s, a, deadline, on_result, rec, NULL), AMI_OK);
    ami_action_free(a);
}

static void recv_all(ami_session *s, const char *bytes)
{
    size_t len = strlen(bytes);
    assert_int_equal(ami_session_recv(s, bytes, len, 0), (long)len);
}

static void test_legacy_will_follow_list(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = session_with(&rec, true);
    send_named(s, "Status", "old-1", AMI_NO_DEADLINE, &rec);
    recv_all(s,
             "Asterisk Call Manager/1.1\r\n"
             "Response: Success\r\nActionID: old-1\r\nMessage: Channel status will follow\r\n\r\n"
             "Event: Newchannel\r\nChannel: SIP/1\r\n\r\n"
             "Event: Status\r\nActionID: old-1\r\nChannel: SIP/1\r\n\r\n"
             "Event: Status\r\nActionID: old-1\r\nChannel: SIP/2\r\n\r\n"
             "Event: StatusComplete\r\nActionID: old-1\r\nItems: 2\r\n\r\n"
             "Event: Hangup\r\nActionID: old-1\r\n\r\n");
    assert_int_equal(rec.nresults, 1);
    const ami_result *r = rec.results[0];
    assert_true(ami_result_is_list(r));
    assert_int_equal(ami_result_event_count(r), 3);
    assert_string_equal(ami_packet_event_name(ami_result_event(r, 2)), "StatusComplete");
    /* Before the list and after its end, events belong to the application. */
    assert_int_equal(rec.events, 2);
    int major = -1;
    assert_int_equal(ami_session_version(s, &major, NULL, NULL), AMI_OK);
    assert_int_equal(major, 1);
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_list_cancelled_and_case(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = session_with(&rec, true);
    send_named(s, "QueueStatus", "q", AMI_NO_DEADLINE, &rec);
    recv_all(s, BANNER "Response: Success\r\nActionID: q\r\nEventList: START\r\n\r\n"
                       "Event: QueueParams\r\nActionID: q\r\n\r\n"
                       /* Not the end: modern lists end on the EventList header only. */
                       "Event: FakeComplete\r\nActionID: q\r\n\r\n"
                       "Event: QueueStatusComplete\r\nActionID: q\r\nEventList: cancelled\r\n\r\n");
    assert_int_equal(rec.nresults, 1);
    assert_int_equal(ami_result_event_count(rec.results[0]), 3);
    assert_true(ami_result_is_list(rec.results[0]));
    assert_int_equal(rec.events, 0);

    /* While a list is open, an event carrying the ID of another pending
     * action that opened no list (OriginateResponse, a UserEvent echo)
     * belongs to the application, and the list goes on. */
    send_named(s, "CoreShowChannels", "L", AMI_NO_DEADLINE, &rec);
    send_named(s, "Originate", "O", AMI_NO_DEADLINE, &rec);
    recv_all(s, "Response: Success\r\nActionID: L\r\nEventList: start\r\n\r\n"
                "Event: OriginateResponse\r\nActionID: O\r\nResponse: Success\r\n\r\n"
                "Event: CoreShowChannel\r\nActionID: L\r\n\r\n");
    assert_int_equal(rec.events, 1);
    assert_int_equal(rec.nresults, 1);
    recv_all(s, "Response: Success\r\nActionID: O\r\n\r\n"
                "Event: CoreShowChannelsComplete\r\nActionID: L\r\nEventList: Complete\r\n\r\n");
    assert_int_equal(rec.nresults, 3);
    assert_string_equal(ami_result_action_id(rec.results[1]), "O");
    assert_int_equal(ami_result_event_count(rec.results[1]), 0);
    assert_int_equal(ami_result_event_count(rec.results[2]), 2);
    assert_int_equal(ami_session_unmatched_count(s), 0);

    /* A list opened the old way ("will follow") whose events turn out to
     * carry EventList headers ends on the EventList header only. */
    send_named(s, "SIPpeers", "P", AMI_NO_DEADLINE, &rec);
    recv_all(s, "Response: Success\r\nActionID: P\r\nMessage: Peer status list will follow\r\n\r\n"
                "Event: PeerEntry\r\nActionID: P\r\nEventList: item\r\n\r\n"
                "Event: NotReallyComplete\r\nActionID: P\r\n\r\n");
    assert_int_equal(rec.nresults, 3);
    recv_all(s, "Event: PeerlistComplete\r\nActionID: P\r\nEventList: Complete\r\n\r\n");
    assert_int_equal(rec.nresults, 4);
    assert_int_equal(ami_result_event_count(rec.results[3]), 3);
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_unknown_action_id(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = session_with(&rec, false);
    send_named(s, "Ping", "mine", AMI_NO_DEADLINE, &rec);
    recv_all(s, BANNER "Response: Success\r\nActionID: stranger\r\nPing: Pong\r\n\r\n"
                       "Response: Success\r\nActionID: mine\r\nPing: Pong\r\n\r\n"
                       "Response: Success\r\nActionID: mine\r\nPing: again\r\n\r\n");
    assert_int_equal(rec.nresults, 1);
    assert_int_equal(ami_session_unmatched_count(s), 2);
    assert_int_equal(ami_session_queued_events(s), 2);
    ami_packet *p = NULL;
    assert_int_equal(ami_session_next_event(s, &p), 1);
    assert_string_equal(ami_packet_action_id(p), "stranger");
    assert_int_equal(ami_packet_kind_of(p), AMI_PACKET_RESPONSE);
    ami_packet_free(p);
    assert_int_equal(ami_session_next_event(s, &p), 1);
    assert_string_equal(ami_packet_get(p, "Ping"), "again");
    ami_packet_free(p);
    assert_int_equal(ami_session_next_event(s, &p), 0);
    assert_null(p);
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_response_without_id_fifo(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = session_with(&rec, true);
    send_named(s, "A", "a", AMI_NO_DEADLINE, &rec);
    send_named(s, "B", "b", AMI_NO_DEADLINE, &rec);
    send_named(s, "C", "c", AMI_NO_DEADLINE, &rec);
    /* b answered by id first; the id-less ones go to the oldest waiting. */
    recv_all(s, BANNER "Response: Success\r\nActionID: b\r\nMessage: B\r\n\r\n"
                       "Response: Success\r\nMessage: first\r\n\r\n"
                       "Response: Error\r\nMessage: second\r\n\r\n"
                       "Response: Success\r\nMessage: nobody\r\n\r\n");
    assert_int_equal(rec.nresults, 3);
    assert_string_equal(ami_result_action_id(rec.results[1]), "a");
    assert_string_equal(ami_result_message(rec.results[1]), "first");
    assert_string_equal(ami_result_action_id(rec.results[2]), "c");
    assert_int_equal(ami_result_status(rec.results[2]), AMI_ERR_ACTION_FAILED);
    assert_string_equal(ami_result_message(rec.results[2]), "second");
    assert_int_equal(ami_session_unmatched_count(s), 1);
    assert_int_equal(rec.events, 1);

    /* An action whose list is open has had its response: an id-less
     * response goes to the next one, and a repeated response with the
     * list's ID is unmatched rather than ending the list. */
    send_named(s, "Status", "L", AMI_NO_DEADLINE, &rec);
    send_named(s, "Ping", "P", AMI_NO_DEADLINE, &rec);
    recv_all(s, "Response: Success\r\nActionID: L\r\nEventList: start\r\n\r\n"
                "Response: Success\r\nMessage: for P\r\n\r\n"
                "Response: Success\r\nActionID: L\r\n\r\n");
    assert_int_equal(rec.nresults, 4);
    assert_string_equal(ami_result_action_id(rec.results[3]), "P");
    assert_string_equal(ami_result_message(rec.results[3]), "for P");
    assert_int_equal(ami_session_unmatched_count(s), 2);
    assert_int_equal(ami_session_pending_count(s), 1);
    recv_all(s, "Event: StatusComplete\r\nActionID: L\r\nEventList: Complete\r\n\r\n");
    assert_int_equal(rec.nresults, 5);
    assert_true(ami_result_is_list(rec.results[4]));
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_disconnect_fails_each_once(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = session_with(&rec, false);
    for (int i = 0; i < 20; i++)
        send_named(s, "Ping", NULL, i % 2 ? 1000 : AMI_NO_DEADLINE, &rec);
    send_named(s, "CoreShowChannels", "list", 1000, &rec);
    recv_all(s, BANNER "Response: Success\r\nActionID: list\r\nEventList: start\r\n\r\n"
                       "Event: CoreShowChannel\r\nActionID: list\r\n\r\n"
                       "Event: Other\r\n\r\n");
    assert_int_equal(ami_session_pending_count(s), 21);
    const char *out;
    size_t out_len;
    ami_session_output(s, &out, &out_len);
    assert_true(out_len > 0);
    ami_session_disconnected(s, 0, NULL);
    assert_int_equal(rec.calls, 21);
    for (size_t i = 0; i < rec.nresults; i++) {
        assert_int_equal(ami_result_status(rec.results[i]), AMI_ERR_DISCONNECTED);
        assert_non_null(strstr(ami_result_message(rec.results[i]), "ActionID"));
        assert_false(ami_result_is_list(rec.results[i]));
    }
    /* The half-received list kept its response and event. */
    const ami_result *r = result_by_id(&rec, "list");
    assert_non_null(ami_result_response(r));
    assert_int_equal(ami_result_event_count(r), 1);
    assert_int_equal(ami_session_pending_count(s), 0);
    assert_int_equal(ami_session_next_deadline(s), AMI_NO_DEADLINE);
    ami_session_output(s, &out, &out_len);
    assert_int_equal(out_len, 0);
    assert_int_equal(ami_session_queued_events(s), 1); /* kept */
    /* Twice is harmless; ticking later expires nothing. */
    ami_session_disconnected(s, AMI_ERR_IO, "boom");
    assert_int_equal(ami_session_tick(s, 5000), 0);
    assert_int_equal(rec.calls, 21);

    /* A new connection starts with a banner again. */
    send_named(s, "Ping", "again", AMI_NO_DEADLINE, &rec);
    assert_int_equal(ami_session_recv(s, "Response: Success\r\n\r\n", 21, 0), AMI_ERR_BAD_BANNER);
    assert_int_equal(rec.calls, 22);
    assert_int_equal(ami_result_status(result_by_id(&rec, "again")), AMI_ERR_BAD_BANNER);
    ami_session_disconnected(s, AMI_ERR_IO, "connection reset");
    send_named(s, "Ping", "third", AMI_NO_DEADLINE, &rec);
    ami_session_disconnected(s, AMI_ERR_IO, "connection reset");
    assert_int_equal(ami_result_status(result_by_id(&rec, "third")), AMI_ERR_IO);
    assert_string_equal(ami_result_message(result_by_id(&rec, "third")), "connection reset");
    recv_all(s, BANNER "Response: Success\r\nActionID: x\r\n\r\n");
    assert_int_equal(ami_session_unmatched_count(s), 1);
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_free_cancels_pending(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = session_with(&rec, true);
    for (int i = 0; i < 5; i++)
        send_named(s, "Ping", NULL, 10, &rec);
    ami_session_free(s);
    assert_int_equal(rec.calls, 5);
    for (size_t i = 0; i < rec.nresults; i++) {
        assert_int_equal(ami_result_status(rec.results[i]), AMI_ERR_CANCELLED);
        assert_null(ami_result_response(rec.results[i]));
    }
    recorder_free(&rec);
    ami_session_free(NULL);
}

static void test_deadlines_fake_clock(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = session_with(&rec, true);
    assert_int_equal(ami_session_next_deadline(s), AMI_NO_DEADLINE);
    send_named(s, "Ping", "p300", 300, &rec);
    send_named(s, "Ping", "p100", 100, &rec);
    send_named(s, "Ping", "none", AMI_NO_DEADLINE, &rec);
    send_named(s, "Ping", "p200", 200, &rec);
    send_named(s, "Ping", "p100b", 100, &rec);
    assert_int_equal(ami_session_next_deadline(s), 100);
    assert_int_equal(ami_session_tick(s, 99), 0);
    assert_int_equal(ami_session_tick(s, 100), 2);
    assert_string_equal(ami_result_action_id(rec.results[0]), "p100");
    assert_string_equal(ami_result_action_id(rec.results[1]), "p100b");
    assert_int_equal(ami_result_status(rec.results[0]), AMI_ERR_TIMEOUT);
    assert_string_equal(ami_result_message(rec.results[0]),
                        "no response to Ping (ActionID p100) within the deadline");
    /* An answer removes the deadline. */
    recv_all(s, BANNER "Response: Success\r\nActionID: p200\r\n\r\n");
    assert_int_equal(ami_session_next_deadline(s), 300);
    assert_int_equal(ami_session_tick(s, 1000000), 1);
    assert_int_equal(ami_session_next_deadline(s), AMI_NO_DEADLINE);
    assert_int_equal(ami_session_pending_count(s), 1);
    /* A late answer to an expired action is an unmatched response. */
    recv_all(s, "Response: Success\r\nActionID: p100\r\n\r\n");
    assert_int_equal(ami_session_unmatched_count(s), 1);
    assert_int_equal(rec.calls, 4);
    assert_int_equal(ami_session_cancel(s, "none"), AMI_OK);
    assert_int_equal(ami_result_status(result_by_id(&rec, "none")), AMI_ERR_CANCELLED);
    assert_int_equal(ami_session_cancel(s, "none"), AMI_ERR_INVALID);
    ami_session_free(s);
    recorder_free(&rec);
}

static void test_back_pressure(void **state)
{
    (void)state;
    /* Reference: every event through the callback. */
    size_t len;
    char *raw = fixture_load("burst_events.raw", &len);
    recorder ref = {0};
    ami_session *s = session_with(&ref, true);
    assert_int_equal(ami_session_recv(s, raw, len, 0), (long)len);
    ami_session_free(s);

    recorder rec = {0};
    s = session_with(&rec, false);
    ami_session_set_queue_limits(s, 2, 0);
    size_t off = 0, short_reads = 0, partial_reads = 0, rounds = 0;
    while (off < len && rounds++ < 100000) {
        size_t n = len - off < 65536 ? len - off : 65536;
        long got = ami_session_recv(s, raw + off, n, 0);
        assert_true(got >= 0);
        /* The queue never grows past its limit... */
        assert_true(ami_session_queued_events(s) <= 2);
        if ((size_t)got < n) {
            short_reads++;
            /* Fed in slices, so recv stops near where the queue filled. */
            partial_reads += got > 0;
            /* ...and consuming less happens only with a full queue. */
            assert_int_equal(ami_session_queued_events(s), 2);
        }
        off += (size_t)got;
        drain_queue(s, &rec);
    }
    while (ami_session_recv(s, NULL, 0, 0) == 0 && ami_session_queued_events(s))
        drain_queue(s, &rec);
    assert_true(short_reads > 10);
    assert_true(partial_reads > 0);
    assert_int_equal(off, len);
    assert_int_equal(rec.events, ref.events);
    assert_string_equal(rec.event_log.s, ref.event_log.s);

    /* A zero-byte recv with a full queue consumes nothing and makes no
     * progress until the application reads. */
    ami_session_free(s);
    s = session_with(&rec, false);
    ami_session_set_queue_limits(s, 1, 0);
    const char two[] = BANNER "Event: A\r\n\r\nEvent: B\r\n\r\n";
    assert_int_equal(ami_session_recv(s, two, sizeof(two) - 1, 0), (long)sizeof(two) - 1);
    assert_int_equal(ami_session_queued_events(s), 1);
    assert_int_equal(ami_session_recv(s, "Event: C\r\n\r\n", 12, 0), 0);
    assert_int_equal(ami_session_queued_events(s), 1);
    ami_packet *p;
    assert_int_equal(ami_session_next_event(s, &p), 1);
    assert_string_equal(ami_packet_event_name(p), "A");
    ami_packet_free(p);
    assert_int_equal(ami_session_recv(s, "Event: C\r\n\r\n", 12, 0), 0);
    assert_int_equal(ami_session_next_event(s, &p), 1);
    assert_string_equal(ami_packet_event_name(p), "B");
    ami_packet_free(p);
    assert_int_equal(ami_session_recv(s, "Event: C\r\n\r\n", 12, 0), 12);
    assert_int_equal(ami_session_next_event(s, &p), 1);
    assert_string_equal(ami_packet_event_name(p), "C");
    ami_packet_free(p);

    /* The byte bound applies as well. */
    ami_session_set_queue_limits(s, 1000, 10);
    assert_int_equal(ami_session_recv(s, two + strlen(BANNER), sizeof(two) - 1 - strlen(BANNER), 0),
                     (long)(sizeof(two) - 1 - strlen(BANNER)));
    assert_int_equal(ami_session_queued_events(s), 1);
    ami_session_free(s);
    free(raw);
    recorder_free(&rec);
    recorder_free(&ref);
}

static void test_parser_error_is_fatal(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = session_with(&rec, true);
    send_named(s, "Ping", "a", AMI_NO_DEADLINE, &rec);
    send_named(s, "Ping", "b", 50, &rec);
    ami_session_set_parser_limits(s, 64, 0, 0);
    char line[200];
    memset(line, 'x', sizeof(line));
    memcpy(line, "Event: ", 7);
    assert_int_equal(ami_session_recv(s, BANNER, strlen(BANNER), 0), (long)strlen(BANNER));
    assert_int_equal(ami_session_failed(s), 0);
    long rc = ami_session_recv(s, line, sizeof(line), 0);
    assert_int_equal(rc, AMI_ERR_LINE_LIMIT);
    assert_int_equal(ami_session_failed(s), AMI_ERR_LINE_LIMIT);
    assert_int_equal(rec.calls, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(ami_result_status(rec.results[i]), AMI_ERR_LINE_LIMIT);
        assert_non_null(strstr(ami_result_message(rec.results[i]), "offset"));
    }
    assert_non_null(strstr(ami_session_errmsg(s), "offset"));
    /* Sticky, and sending on a failed connection is refused. */
    assert_int_equal(ami_session_recv(s, "Event: x\r\n\r\n", 12, 0), AMI_ERR_LINE_LIMIT);
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Ping"), AMI_OK);
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, on_result, &rec, NULL), AMI_ERR_STATE);
    /* The message still says why the session failed. */
    assert_non_null(strstr(ami_session_errmsg(s), "offset"));
    /* Until the connection is replaced. */
    ami_session_disconnected(s, 0, NULL);
    assert_int_equal(ami_session_failed(s), 0);
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, on_result, &rec, NULL), AMI_OK);
    ami_action_free(a);
    recv_all(s, BANNER);
    assert_int_equal(rec.calls, 2);
    ami_session_free(s);
    assert_int_equal(rec.calls, 3);
    recorder_free(&rec);
}

static void test_action_ids(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = session_with(&rec, true), *s2 = session_with(&rec, true);
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Ping"), AMI_OK);
    const char *id = NULL, *id2 = NULL;
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, NULL, NULL, &id), AMI_OK);
    assert_int_equal(ami_session_send(s2, a, AMI_NO_DEADLINE, NULL, NULL, &id2), AMI_OK);
    /* Two handles in one process never share IDs. */
    assert_string_not_equal(id, id2);
    ami_session_free(s2);

    assert_int_equal(ami_session_set_id_prefix(s, "x\r\n"), AMI_ERR_INJECTION);
    assert_int_equal(ami_session_set_id_prefix(s, "app-"), AMI_OK);
    ami_session_consume(s, SIZE_MAX);
    /* A caller's own ID may collide with generated ones: they are skipped. */
    ami_action *own = NULL;
    assert_int_equal(ami_action_create(&own, "Ping"), AMI_OK);
    assert_int_equal(ami_action_add(own, "ActionID", "app-2"), AMI_OK);
    assert_int_equal(ami_session_send(s, own, AMI_NO_DEADLINE, NULL, NULL, &id), AMI_OK);
    assert_string_equal(id, "app-2");
    assert_int_equal(ami_session_send(s, own, AMI_NO_DEADLINE, NULL, NULL, &id),
                     AMI_ERR_DUPLICATE_ID);
    assert_null(id);
    assert_non_null(strstr(ami_session_errmsg(s), "app-2"));
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, NULL, NULL, &id), AMI_OK);
    assert_string_equal(id, "app-3");
    const char *out;
    size_t out_len;
    ami_session_output(s, &out, &out_len);
    const char want[] = "Action: Ping\r\nActionID: app-2\r\n\r\n"
                        "Action: Ping\r\nActionID: app-3\r\n\r\n";
    assert_int_equal(out_len, sizeof(want) - 1);
    assert_memory_equal(out, want, out_len);
    /* Partial writes. */
    ami_session_consume(s, 10);
    ami_session_output(s, &out, &out_len);
    assert_int_equal(out_len, sizeof(want) - 11);
    assert_memory_equal(out, want + 10, out_len);
    assert_int_equal(ami_session_pending_count(s), 3);
    ami_action_free(own);
    ami_action_free(a);

    /* An action too big once its ActionID is added is refused whole. */
    assert_int_equal(ami_action_create(&a, "UserEvent"), AMI_OK);
    for (int i = 0; i < AMI_ACTION_MAX_HEADERS - 1; i++) {
        char key[16];
        snprintf(key, sizeof(key), "H%d", i);
        assert_int_equal(ami_action_add(a, key, "v"), AMI_OK);
    }
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, NULL, NULL, NULL), AMI_ERR_TOO_MANY);
    assert_int_equal(ami_session_pending_count(s), 3);
    ami_action_free(a);
    assert_int_equal(ami_session_send(NULL, a, 0, NULL, NULL, NULL), AMI_ERR_INVALID);
    ami_session_free(s);
    recorder_free(&rec);
}

/* ------------------------------------------------------- re-entrancy */

typedef struct reentry {
    recorder rec;
    int phase;
    long inner_recv;
    int inner_tick;
    const char *cancel_id;
    int cancel_rc;
} reentry;

static void on_reentrant_result(ami_session *s, ami_result *r, void *ud)
{
    reentry *re = ud;
    re->inner_recv = ami_session_recv(s, "x", 1, 0);
    re->inner_tick = ami_session_tick(s, 0);
    ami_session_disconnected(s, 0, NULL); /* refused: nothing happens */
    ami_session_free(s);                  /* ignored inside a callback */
    if (re->cancel_id) {
        const char *victim = re->cancel_id;
        re->cancel_id = NULL;
        re->cancel_rc = ami_session_cancel(s, victim);
    }
    if (re->phase == 0) {
        re->phase = 1;
        /* Send from inside the callback. */
        ami_action *a = NULL;
        assert_int_equal(ami_action_create(&a, "Follow"), AMI_OK);
        assert_int_equal(ami_action_add(a, "ActionID", "follow"), AMI_OK);
        assert_int_equal(ami_session_send(s, a, 5, on_reentrant_result, re, NULL), AMI_OK);
        ami_action_free(a);
    }
    on_result(s, r, &re->rec);
}

static void test_callback_reentrancy(void **state)
{
    (void)state;
    reentry re = {0};
    ami_session *s = session_with(&re.rec, true);
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "First"), AMI_OK);
    assert_int_equal(ami_action_add(a, "ActionID", "first"), AMI_OK);
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, on_reentrant_result, &re, NULL),
                     AMI_OK);
    ami_action_set(a, "ActionID", "victim");
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, on_reentrant_result, &re, NULL),
                     AMI_OK);
    ami_action_free(a);
    re.cancel_id = "victim";
    recv_all(s, BANNER "Response: Success\r\nActionID: first\r\n\r\n"
                       "Response: Success\r\nActionID: victim\r\n\r\n");
    assert_int_equal(re.inner_recv, AMI_ERR_STATE);
    assert_int_equal(re.inner_tick, AMI_ERR_STATE);
    assert_int_equal(re.cancel_rc, AMI_OK);
    /* first, then victim (cancelled from first's callback, its late answer
     * unmatched); follow still pending and its bytes queued. */
    assert_int_equal(re.rec.nresults, 2);
    assert_string_equal(ami_result_action_id(re.rec.results[0]), "victim");
    assert_int_equal(ami_result_status(re.rec.results[0]), AMI_ERR_CANCELLED);
    assert_string_equal(ami_result_action_id(re.rec.results[1]), "first");
    assert_int_equal(ami_session_unmatched_count(s), 1);
    assert_int_equal(ami_session_pending_count(s), 1);
    const char *out;
    size_t len;
    ami_session_output(s, &out, &len);
    assert_non_null(strstr(out, "Action: Follow\r\nActionID: follow\r\n\r\n"));
    assert_int_equal(ami_session_tick(s, 5), 1);
    assert_int_equal(re.rec.nresults, 3);
    ami_session_free(s);
    recorder_free(&re.rec);
}

static void resend_on_failure(ami_session *s, ami_result *r, void *ud)
{
    recorder *rec = ud;
    /* A naive retry loop: re-sending from a failing callback must not make
     * disconnect or tick spin; the new action waits for the next call. */
    if (ami_result_status(r) != AMI_OK && rec->calls < 50) {
        ami_action *a = NULL;
        assert_int_equal(ami_action_create(&a, "Retry"), AMI_OK);
        int rc = ami_session_send(s, a, 0, resend_on_failure, rec, NULL);
        /* While the session is being freed, sending is refused. */
        assert_true(rc == AMI_OK || rc == AMI_ERR_STATE);
        ami_action_free(a);
    }
    on_result(s, r, rec);
}

static void test_resend_from_failure_callbacks(void **state)
{
    (void)state;
    recorder rec = {0};
    ami_session *s = session_with(&rec, true);
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Ping"), AMI_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ami_session_send(s, a, 0, resend_on_failure, &rec, NULL), AMI_OK);
    ami_action_free(a);
    ami_session_disconnected(s, 0, NULL);
    assert_int_equal(rec.calls, 3);
    assert_int_equal(ami_session_pending_count(s), 3);
    assert_int_equal(ami_session_tick(s, 0), 3);
    assert_int_equal(rec.calls, 6);
    ami_session_free(s); /* cancels, and refuses the re-sends */
    assert_int_equal(rec.calls, 9);
    recorder_free(&rec);
}

static void test_many_in_flight(void **state)
{
    (void)state;
    /* 20000 pending with deadlines, answered in reverse, half cancelled:
     * quadratic behaviour would make this noticeably slow. */
    enum { N = 20000 };
    ami_session *s = NULL;
    assert_int_equal(ami_session_create(&s), AMI_OK);
    assert_int_equal(ami_session_set_id_prefix(s, "m"), AMI_OK);
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Ping"), AMI_OK);
    size_t done = 0;
    for (int i = 0; i < N; i++)
        assert_int_equal(ami_session_send(s, a, 1000 + (uint64_t)(i * 7919 % N), NULL, NULL, NULL),
                         AMI_OK);
    ami_action_free(a);
    assert_int_equal(ami_session_next_deadline(s), 1000);
    text t = {0};
    text_add(&t, BANNER, strlen(BANNER));
    for (int i = N; i > 0; i -= 2)
        text_printf(&t, "Response: Success\r\nActionID: m%d\r\n\r\n", i);
    recv_all(s, t.s);
    free(t.s);
    done += N / 2;
    assert_int_equal(ami_session_pending_count(s), N - done);
    char id[16];
    for (int i = 1; i < N; i += 4) {
        snprintf(id, sizeof(id), "m%d", i);
        assert_int_equal(ami_session_cancel(s, id), AMI_OK);
    }
    done += N / 4;
    assert_int_equal(ami_session_pending_count(s), N - done);
    assert_int_equal(ami_session_tick(s, 1000 + N), (int)(N - done));
    assert_int_equal(ami_session_pending_count(s), 0);
    ami_session_free(s);
}

static void test_deadline_heap_order(void **state)
{
    (void)state;
    /* Pseudo-random deadlines; answers remove entries from the middle of
     * the heap; each tick must expire exactly the actions due by then. */
    enum { N = 3000, SPAN = 400 };
    static size_t due[SPAN];
    memset(due, 0, sizeof(due));
    ami_session *s = NULL;
    assert_int_equal(ami_session_create(&s), AMI_OK);
    assert_int_equal(ami_session_set_id_prefix(s, "h"), AMI_OK);
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Ping"), AMI_OK);
    uint32_t x = 12345;
    static uint64_t deadline[N + 1];
    for (int i = 1; i <= N; i++) {
        x = x * 1103515245u + 12345u;
        deadline[i] = (x >> 8) % SPAN;
        assert_int_equal(ami_session_send(s, a, deadline[i], NULL, NULL, NULL), AMI_OK);
    }
    ami_action_free(a);
    text t = {0};
    text_add(&t, BANNER, strlen(BANNER));
    for (int i = 1; i <= N; i++) {
        if ((i * 7) % 3 == 0)
            text_printf(&t, "Response: Success\r\nActionID: h%d\r\n\r\n", (i * 7919) % N + 1);
    }
    recv_all(s, t.s);
    free(t.s);
    /* Which ones were answered: recompute the same set. */
    static bool answered[N + 1];
    memset(answered, 0, sizeof(answered));
    for (int i = 1; i <= N; i++) {
        if ((i * 7) % 3 == 0)
            answered[(i * 7919) % N + 1] = true;
    }
    for (int i = 1; i <= N; i++) {
        if (!answered[i])
            due[deadline[i]]++;
    }
    for (uint64_t now = 0; now < SPAN; now++) {
        uint64_t next = ami_session_next_deadline(s);
        if (due[now])
            assert_int_equal(next, now);
        assert_int_equal(ami_session_tick(s, now), (int)due[now]);
    }
    assert_int_equal(ami_session_pending_count(s), 0);
    ami_session_free(s);
}

static void test_getters_on_fresh_session(void **state)
{
    (void)state;
    ami_session *s = NULL;
    assert_int_equal(ami_session_create(NULL), AMI_ERR_INVALID);
    assert_int_equal(ami_session_create(&s), AMI_OK);
    assert_null(ami_session_banner(s));
    int major = 7;
    assert_int_equal(ami_session_version(s, &major, NULL, NULL), AMI_ERR_STATE);
    assert_int_equal(major, 0);
    assert_false(ami_session_got_goodbye(s));
    assert_non_null(ami_session_errmsg(s));
    const char *out = NULL;
    size_t len = 1;
    ami_session_output(s, &out, &len);
    assert_int_equal(len, 0);
    assert_int_equal(ami_session_recv(s, NULL, 0, 0), 0);
    assert_int_equal(ami_session_recv(s, NULL, 5, 0), AMI_ERR_INVALID);
    assert_int_equal(ami_session_cancel(s, "nope"), AMI_ERR_INVALID);
    ami_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_events),
        cmocka_unit_test(test_misc_actions),
        cmocka_unit_test(test_coreshowchannels_lists),
        cmocka_unit_test(test_queuestatus_lists),
        cmocka_unit_test(test_status_with_channel),
        cmocka_unit_test(test_errors_fixture),
        cmocka_unit_test(test_login_ok_without_action_ids),
        cmocka_unit_test(test_command_framings_agree),
        cmocka_unit_test(test_command_empty_output),
        cmocka_unit_test(test_legacy_will_follow_list),
        cmocka_unit_test(test_list_cancelled_and_case),
        cmocka_unit_test(test_unknown_action_id),
        cmocka_unit_test(test_response_without_id_fifo),
        cmocka_unit_test(test_disconnect_fails_each_once),
        cmocka_unit_test(test_free_cancels_pending),
        cmocka_unit_test(test_deadlines_fake_clock),
        cmocka_unit_test(test_back_pressure),
        cmocka_unit_test(test_parser_error_is_fatal),
        cmocka_unit_test(test_action_ids),
        cmocka_unit_test(test_callback_reentrancy),
        cmocka_unit_test(test_resend_from_failure_callbacks),
        cmocka_unit_test(test_many_in_flight),
        cmocka_unit_test(test_deadline_heap_order),
        cmocka_unit_test(test_getters_on_fresh_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
