/*
 * The byte tap (ami_session_set_wire_cb) and the Originate helper
 * (ami/originate.h). The tap must hand over every byte exactly once, in
 * order, whatever the chunking (byte by byte, random splits, both ways of
 * feeding a session), and every byte the session writes as it is consumed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <ami/ami.h>
#include <ami/originate.h>

#include "fixture.h"

typedef struct tap {
    char *recv, *sent;
    size_t nrecv, nsent, chunks;
} tap;

static void grow_add(char **buf, size_t *n, const char *data, size_t len)
{
    *buf = realloc(*buf, *n + len + 1);
    assert_non_null(*buf);
    memcpy(*buf + *n, data, len);
    *n += len;
}

static void on_wire(ami_wire_dir dir, const char *data, size_t len, void *ud)
{
    tap *t = ud;
    t->chunks++;
    if (dir == AMI_WIRE_RECV)
        grow_add(&t->recv, &t->nrecv, data, len);
    else if (dir == AMI_WIRE_SEND)
        grow_add(&t->sent, &t->nsent, data, len);
}

static void drain_events(ami_session *s)
{
    ami_packet *p;
    while (ami_session_next_event(s, &p) == 1)
        ami_packet_free(p);
}

static void tap_recv_mode(int mode)
{
    size_t len;
    char *raw = fixture_load("docs_manager_show.raw", &len);
    assert_non_null(raw);
    ami_session *s;
    assert_int_equal(ami_session_create(&s), 0);
    tap t = {0};
    ami_session_set_wire_cb(s, on_wire, &t);
    srand(7);
    size_t off = 0;
    while (off < len) {
        size_t n = mode == 0 ? 1 : 1 + (size_t)rand() % 700;
        if (n > len - off)
            n = len - off;
        if (mode == 2) {
            char *area;
            size_t avail;
            assert_int_equal(ami_session_recv_reserve(s, n, &area, &avail), 0);
            memcpy(area, raw + off, n);
            assert_int_equal(ami_session_recv_commit(s, n, 0), 0);
            off += n;
        } else {
            long used = ami_session_recv(s, raw + off, n, 0);
            assert_true(used > 0);
            off += (size_t)used;
        }
        drain_events(s); /* unmatched responses queue as events */
    }
    assert_int_equal(t.nrecv, len);
    assert_memory_equal(t.recv, raw, len);
    assert_int_equal(t.nsent, 0);
    ami_session_free(s);
    free(t.recv);
    free(raw);
}

static void test_tap_recv_bytewise(void **state)
{
    (void)state;
    tap_recv_mode(0);
}

static void test_tap_recv_random(void **state)
{
    (void)state;
    tap_recv_mode(1);
}

static void test_tap_recv_reserve_commit(void **state)
{
    (void)state;
    tap_recv_mode(2);
}

static void test_tap_send(void **state)
{
    (void)state;
    ami_session *s;
    assert_int_equal(ami_session_create(&s), 0);
    tap t = {0};
    ami_session_set_wire_cb(s, on_wire, &t);
    ami_action *a;
    assert_int_equal(ami_action_create(&a, "Ping"), 0);
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, NULL, NULL, NULL), 0);
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, NULL, NULL, NULL), 0);
    const char *data;
    size_t len;
    ami_session_output(s, &data, &len);
    char *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, data, len);
    size_t total = len;
    /* Consumed a byte at a time: each byte reported once, in order. */
    for (size_t i = 0; i < total; i++)
        ami_session_consume(s, 1);
    ami_session_consume(s, 5); /* nothing left: nothing reported */
    assert_int_equal(t.nsent, total);
    assert_memory_equal(t.sent, copy, total);
    assert_int_equal(t.chunks, total);
    /* Off again: nothing more is seen. */
    ami_session_set_wire_cb(s, NULL, NULL);
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, NULL, NULL, NULL), 0);
    ami_session_output(s, &data, &len);
    ami_session_consume(s, len);
    assert_int_equal(t.nsent, total);
    ami_action_free(a);
    ami_session_free(s);
    free(copy);
    free(t.sent);
}

static ami_packet *parse_one(const char *text)
{
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    assert_int_equal(ami_parser_feed(p, text, strlen(text)), 0);
    const ami_packet *pk;
    assert_int_equal(ami_parser_next(p, &pk), 1);
    ami_packet *copy;
    assert_int_equal(ami_packet_dup(pk, &copy), 0);
    ami_parser_free(p);
    return copy;
}

static void test_originate_prepare(void **state)
{
    (void)state;
    ami_action *a;
    ami_originate_info info;
    assert_int_equal(ami_action_create(&a, "Ping"), 0);
    assert_int_equal(ami_originate_prepare(a, &info), AMI_ERR_INVALID);
    ami_action_free(a);

    assert_int_equal(ami_action_create(&a, "Originate"), 0);
    assert_int_equal(ami_action_add(a, "Channel", "Local/100@test"), 0);
    assert_int_equal(ami_action_add(a, "Async", "false"), 0);
    assert_int_equal(ami_originate_prepare(a, &info), 0);
    assert_string_equal(ami_action_get(a, "Async"), "true");
    assert_true(strlen(info.channel_id) > 4);
    assert_string_equal(ami_action_get(a, "ChannelId"), info.channel_id);
    assert_string_equal(ami_action_get(a, "OtherChannelId"), info.other_channel_id);
    assert_true(strcmp(info.channel_id, info.other_channel_id) != 0);
    char first[AMI_ORIGINATE_ID_MAX];
    strcpy(first, info.channel_id);
    ami_action_free(a);

    /* A second Originate gets another id; a caller's id is kept. */
    assert_int_equal(ami_action_create(&a, "originate"), 0);
    assert_int_equal(ami_originate_prepare(a, &info), 0);
    assert_true(strcmp(first, info.channel_id) != 0);
    assert_int_equal(ami_action_set(a, "ChannelId", "mine-1"), 0);
    assert_int_equal(ami_action_set(a, "OtherChannelId", "mine-2"), 0);
    assert_int_equal(ami_originate_prepare(a, &info), 0);
    assert_string_equal(info.channel_id, "mine-1");
    assert_string_equal(info.other_channel_id, "mine-2");
    char longid[100];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_int_equal(ami_action_set(a, "ChannelId", longid), 0);
    assert_int_equal(ami_originate_prepare(a, &info), AMI_ERR_TOO_LONG);
    ami_action_free(a);
}

static void test_originate_match_reason(void **state)
{
    (void)state;
    ami_originate_info info;
    memset(&info, 0, sizeof info);
    strcpy(info.channel_id, "cid-1");
    ami_packet *ok = parse_one("Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: "
                               "x-7\r\nResponse: Success\r\nChannel: Local/100@test-1;1\r\n"
                               "Reason: 4\r\nUniqueid: cid-1\r\n\r\n");
    ami_packet *other = parse_one("Event: OriginateResponse\r\nActionID: x-8\r\nResponse: "
                                  "Failure\r\nReason: 5\r\nUniqueid: <null>\r\n\r\n");
    ami_packet *newch = parse_one("Event: Newchannel\r\nUniqueid: cid-1\r\n\r\n");
    ami_packet *bad = parse_one("Event: OriginateResponse\r\nReason: 4x\r\n\r\n");
    /* Before the ActionID is known: by Uniqueid. */
    assert_int_equal(ami_originate_match(&info, ok), 1);
    assert_int_equal(ami_originate_match(&info, other), 0);
    assert_int_equal(ami_originate_match(&info, newch), 0);
    /* After: by ActionID only. */
    strcpy(info.action_id, "x-8");
    assert_int_equal(ami_originate_match(&info, other), 1);
    assert_int_equal(ami_originate_match(&info, ok), 0);
    assert_int_equal(ami_originate_reason(ok), AMI_ORIGINATE_ANSWERED);
    assert_int_equal(ami_originate_reason(other), AMI_ORIGINATE_BUSY);
    assert_int_equal(ami_originate_reason(bad), -1);
    assert_int_equal(ami_originate_reason(newch), -1);
    assert_string_equal(ami_originate_reason_text(5), "busy");
    assert_string_equal(ami_originate_reason_text(3), "no answer");
    assert_string_equal(ami_originate_reason_text(42), "unknown");
    ami_packet_free(ok);
    ami_packet_free(other);
    ami_packet_free(newch);
    ami_packet_free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tap_recv_bytewise),
        cmocka_unit_test(test_tap_recv_random),
        cmocka_unit_test(test_tap_recv_reserve_commit),
        cmocka_unit_test(test_tap_send),
        cmocka_unit_test(test_originate_prepare),
        cmocka_unit_test(test_originate_match_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
