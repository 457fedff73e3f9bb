/* The zero-copy receive path (reserve/commit) and the paused query. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fixture.h"

typedef struct outcome {
    char **events; /* flattened, in delivery order */
    size_t count, cap;
    int results;
} outcome;

static void keep(outcome *o, const ami_packet *p)
{
    if (o->count == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 256;
        o->events = realloc(o->events, o->cap * sizeof(char *));
        assert_non_null(o->events);
    }
    o->events[o->count++] = packet_flatten(p);
}

static void pop_all(ami_session *s, outcome *o)
{
    ami_packet *ev;
    while (ami_session_next_event(s, &ev) == 1) {
        keep(o, ev);
        ami_packet_free(ev);
    }
}

static void on_result(ami_session *s, ami_result *r, void *ud)
{
    (void)s;
    outcome *o = ud;
    o->results++;
    assert_int_equal(ami_result_status(r), 0);
    ami_result_free(r);
}

/* Send the 50 Originates of the capture (with its ActionIDs) plus Login and
 * Logoff, so every response is matched. */
static ami_session *session_for_burst(outcome *o, size_t queue_max)
{
    ami_session *s;
    assert_int_equal(ami_session_create(&s), 0);
    ami_session_set_queue_limits(s, queue_max, 0);
    size_t len;
    char *sent = fixture_load("burst_events.sent", &len);
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    assert_int_equal(ami_parser_feed(p, sent, len), 0);
    const ami_packet *pkt;
    int n = 0;
    while (ami_parser_next(p, &pkt) == 1) {
        ami_action *a;
        assert_int_equal(ami_action_create(&a, ami_packet_get(pkt, "Action")), 0);
        const char *id = ami_packet_action_id(pkt);
        if (id)
            assert_int_equal(ami_action_add(a, "ActionID", id), 0);
        assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, on_result, o, NULL), 0);
        ami_action_free(a);
        n++;
    }
    assert_int_equal(n, 52);
    ami_parser_free(p);
    free(sent);
    return s;
}

static void run_copying(outcome *o)
{
    ami_session *s = session_for_burst(o, 0);
    size_t len;
    char *raw = fixture_load("burst_events.raw", &len);
    long got = ami_session_recv(s, raw, len, 0);
    assert_int_equal(got, (long)len);
    pop_all(s, o);
    ami_session_free(s);
    free(raw);
}

/* Reads of pseudo-random sizes straight into the session, with a queue of
 * three events: the reader honours is_paused and drains only then. */
static void run_zero_copy(outcome *o, uint64_t seed)
{
    ami_session *s = session_for_burst(o, 3);
    size_t len;
    char *raw = fixture_load("burst_events.raw", &len);
    size_t off = 0;
    int paused_seen = 0;
    while (off < len || ami_session_queued_events(s) > 0) {
        if (ami_session_is_paused(s)) {
            paused_seen++;
            char *area;
            size_t avail;
            assert_int_equal(ami_session_recv_reserve(s, 1, &area, &avail), AMI_ERR_QUEUE_FULL);
            pop_all(s, o);
            assert_false(ami_session_is_paused(s));
            /* Parse what is already buffered before reading more. */
            assert_int_equal(ami_session_recv(s, NULL, 0, 0), 0);
            continue;
        }
        if (off == len) {
            pop_all(s, o);
            continue;
        }
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t want = 1 + (size_t)((seed >> 33) % 3000);
        if (want > len - off)
            want = len - off;
        char *area;
        size_t avail;
        assert_int_equal(ami_session_recv_reserve(s, want, &area, &avail), 0);
        assert_true(avail >= want);
        memcpy(area, raw + off, want);
        assert_int_equal(ami_session_recv_commit(s, want, 0), 0);
        off += want;
    }
    assert_true(paused_seen > 100);
    ami_session_free(s);
    free(raw);
}

static void outcome_free(outcome *o)
{
    for (size_t i = 0; i < o->count; i++)
        free(o->events[i]);
    free(o->events);
}

static void test_zero_copy_equals_copying(void **state)
{
    (void)state;
    outcome ref = {0};
    run_copying(&ref);
    assert_int_equal(ref.results, 52);
    assert_true(ref.count > 1500);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        outcome zc = {0};
        run_zero_copy(&zc, seed);
        assert_int_equal(zc.results, 52);
        assert_int_equal(zc.count, ref.count);
        for (size_t i = 0; i < ref.count; i++)
            assert_string_equal(zc.events[i], ref.events[i]);
        outcome_free(&zc);
    }
    outcome_free(&ref);
}

static void test_commit_reports_fatal_errors(void **state)
{
    (void)state;
    ami_session *s;
    assert_int_equal(ami_session_create(&s), 0);
    char *area;
    size_t avail;
    assert_int_equal(ami_session_recv_reserve(s, 16, &area, &avail), 0);
    memcpy(area, "SSH-2.0-OpenSSH\r\n", 17);
    assert_int_equal(ami_session_recv_commit(s, 17, 0), AMI_ERR_BAD_BANNER);
    assert_int_equal(ami_session_recv_reserve(s, 16, &area, &avail), AMI_ERR_BAD_BANNER);
    assert_false(ami_session_is_paused(s));
    ami_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_copy_equals_copying),
        cmocka_unit_test(test_commit_reports_fatal_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
