/* Unit tests of the streaming parser on hand-written input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "internal.h"

/* Feed `text` whole to a fresh parser and return the first packet's copy
 * (or NULL), with the status of the last next() call in *rc. */
static ami_packet *parse_one(const char *text, size_t len, unsigned flags, int *rc)
{
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, flags), 0);
    assert_int_equal(ami_parser_feed(p, text, len), 0);
    const ami_packet *pkt = NULL;
    *rc = ami_parser_next(p, &pkt);
    ami_packet *copy = NULL;
    if (*rc == 1)
        assert_int_equal(ami_packet_dup(pkt, &copy), 0);
    ami_parser_free(p);
    return copy;
}

static void test_first_colon_only_and_one_space(void **state)
{
    (void)state;
    static const char in[] = "Response: Success\r\n"
                             "Message: Invalid/unknown command: X. Use Action: ListCommands\r\n"
                             "Value:hello: world\r\n"
                             "Trail:   two spaces and trailing  \r\n"
                             "Empty: \r\n"
                             "Bare:\r\n"
                             "ChanVariable(PJSIP/100-0001;1): x=y\r\n"
                             "Key With Space: v\r\n"
                             "\r\n";
    int rc;
    ami_packet *p = parse_one(in, sizeof(in) - 1, 0, &rc);
    assert_int_equal(rc, 1);
    assert_int_equal(ami_packet_count(p), 8);
    assert_string_equal(ami_packet_get(p, "message"),
                        "Invalid/unknown command: X. Use Action: ListCommands");
    assert_string_equal(ami_packet_get(p, "VALUE"), "hello: world");
    assert_string_equal(ami_packet_get(p, "Trail"), "  two spaces and trailing  ");
    size_t len = 99;
    assert_non_null(ami_packet_getn(p, "Empty", &len));
    assert_int_equal(len, 0);
    assert_string_equal(ami_packet_get(p, "Bare"), "");
    assert_string_equal(ami_packet_get(p, "ChanVariable(PJSIP/100-0001;1)"), "x=y");
    assert_string_equal(ami_packet_get(p, "key with space"), "v");
    assert_null(ami_packet_get(p, "Missing"));
    assert_int_equal(ami_packet_kind_of(p), AMI_PACKET_RESPONSE);
    assert_int_equal(ami_packet_response_type(p), AMI_RESPONSE_SUCCESS);
    assert_int_equal(ami_packet_wire_size(p), sizeof(in) - 1);
    ami_packet_free(p);
}

static void test_repeated_keys_in_order(void **state)
{
    (void)state;
    static const char in[] = "Event: UserEvent\nHeader1: a\nX: 1\nheader1: b\nHeader1: c\n\n";
    int rc;
    ami_packet *p = parse_one(in, sizeof(in) - 1, 0, &rc);
    assert_int_equal(rc, 1);
    assert_int_equal(ami_packet_kind_of(p), AMI_PACKET_EVENT);
    assert_string_equal(ami_packet_event_name(p), "UserEvent");
    assert_int_equal(ami_packet_count_key(p, "HEADER1"), 3);
    size_t cursor = 0, len;
    assert_string_equal(ami_packet_next_value(p, "Header1", &cursor, &len), "a");
    assert_string_equal(ami_packet_next_value(p, "Header1", &cursor, &len), "b");
    assert_string_equal(ami_packet_next_value(p, "Header1", &cursor, &len), "c");
    assert_null(ami_packet_next_value(p, "Header1", &cursor, &len));
    const char *k;
    assert_int_equal(ami_packet_header(p, 3, &k, NULL, NULL, NULL), 0);
    assert_string_equal(k, "header1");
    assert_int_equal(ami_packet_header(p, 5, &k, NULL, NULL, NULL), AMI_ERR_INVALID);
    ami_packet_free(p);
}

static void test_banner_versions(void **state)
{
    (void)state;
    int maj, min, pat;
    static const char a[] = "Asterisk Call Manager/11.0.0";
    assert_int_equal(ami_banner_parse(a, strlen(a), &maj, &min, &pat), 0);
    assert_int_equal(maj, 11);
    assert_int_equal(min, 0);
    assert_int_equal(pat, 0);
    static const char b[] = "Asterisk Call Manager/2.10.3";
    assert_int_equal(ami_banner_parse(b, strlen(b), &maj, &min, &pat), 0);
    assert_int_equal(maj, 2);
    assert_int_equal(min, 10);
    assert_int_equal(pat, 3);
    static const char c[] = "Asterisk Call Manager Proxy/1.2";
    assert_int_equal(ami_banner_parse(c, strlen(c), &maj, &min, &pat), 0);
    assert_int_equal(maj, 1);
    assert_int_equal(min, 2);
    static const char d[] = "SSH-2.0-OpenSSH_9.2";
    assert_int_equal(ami_banner_parse(d, strlen(d), &maj, &min, &pat), AMI_ERR_BAD_BANNER);

    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, AMI_PARSER_EXPECT_BANNER), 0);
    static const char in[] = "Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n\r\n";
    assert_int_equal(ami_parser_feed(p, in, sizeof(in) - 1), 0);
    const ami_packet *pkt;
    assert_int_equal(ami_parser_next(p, &pkt), 1);
    assert_int_equal(ami_packet_kind_of(pkt), AMI_PACKET_BANNER);
    assert_string_equal(ami_packet_get(pkt, "Banner"), "Asterisk Call Manager/11.0.0");
    assert_int_equal(ami_parser_next(p, &pkt), 1);
    assert_int_equal(ami_packet_kind_of(pkt), AMI_PACKET_RESPONSE);
    assert_int_equal(ami_parser_next(p, &pkt), 0);
    ami_parser_free(p);

    /* A wrong greeting is a sticky error at offset 0. */
    assert_int_equal(ami_parser_create(&p, AMI_PARSER_EXPECT_BANNER), 0);
    assert_int_equal(ami_parser_feed(p, "SSH-2.0-OpenSSH\r\n", 17), 0);
    assert_int_equal(ami_parser_next(p, &pkt), AMI_ERR_BAD_BANNER);
    assert_int_equal(ami_parser_next(p, &pkt), AMI_ERR_BAD_BANNER);
    assert_int_equal(ami_parser_feed(p, "x", 1), AMI_ERR_BAD_BANNER);
    assert_int_equal(ami_parser_error_offset(p), 0);
    ami_parser_free(p);
}

static void test_legacy_command_output(void **state)
{
    (void)state;
    /* Asterisk <= 13: body lines end in bare LF, may hold colons and blank
     * lines, and the marker may follow the last line without a newline. */
    static const char in[] = "Response: Follows\r\n"
                             "Privilege: Command\r\n"
                             "ActionID: 42\r\n"
                             "Channel   Location   State\n"
                             "\n"
                             "  indented: with colon\n"
                             "1 active channel--END COMMAND--\r\n"
                             "\r\n"
                             "Response: Success\r\nActionID: 43\r\n\r\n";
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    assert_int_equal(ami_parser_feed(p, in, sizeof(in) - 1), 0);
    const ami_packet *pkt;
    assert_int_equal(ami_parser_next(p, &pkt), 1);
    assert_int_equal(ami_packet_response_type(pkt), AMI_RESPONSE_FOLLOWS);
    assert_true(ami_packet_is_legacy_output(pkt));
    assert_string_equal(ami_packet_action_id(pkt), "42");
    assert_string_equal(ami_packet_get(pkt, "Privilege"), "Command");
    assert_int_equal(ami_packet_count_key(pkt, "Output"), 4);
    size_t cursor = 0, len;
    assert_string_equal(ami_packet_next_value(pkt, "Output", &cursor, &len),
                        "Channel   Location   State");
    assert_string_equal(ami_packet_next_value(pkt, "Output", &cursor, &len), "");
    assert_string_equal(ami_packet_next_value(pkt, "Output", &cursor, &len),
                        "  indented: with colon");
    assert_string_equal(ami_packet_next_value(pkt, "Output", &cursor, &len), "1 active channel");
    assert_int_equal(ami_parser_next(p, &pkt), 1);
    assert_false(ami_packet_is_legacy_output(pkt));
    assert_string_equal(ami_packet_action_id(pkt), "43");
    ami_parser_free(p);

    /* Marker on its own line. */
    static const char in2[] = "Response: Follows\r\nPrivilege: Command\r\n"
                              "line one\n--END COMMAND--\r\n\r\n";
    int rc;
    ami_packet *copy = parse_one(in2, sizeof(in2) - 1, 0, &rc);
    assert_int_equal(rc, 1);
    assert_int_equal(ami_packet_count_key(copy, "Output"), 1);
    assert_string_equal(ami_packet_get(copy, "Output"), "line one");
    ami_packet_free(copy);
}

static void test_bare_lf_and_stray_blank_lines(void **state)
{
    (void)state;
    static const char in[] = "\r\n\nEvent: A\nK: v\r\n\n\r\n\r\nEvent: B\r\n\r\n";
    parsed_stream s;
    assert_int_equal(parse_stream(in, sizeof(in) - 1, 0, NULL, NULL, &s), 0);
    assert_int_equal(s.error, 0);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.packets[0], "Event\x1f"
                                      "A\x1eK\x1fv\x1e");
    assert_string_equal(s.packets[1], "Event\x1f"
                                      "B\x1e");
    parsed_stream_free(&s);
}

static void test_line_without_colon_is_protocol_error(void **state)
{
    (void)state;
    static const char in[] = "Event: A\r\nK: v\r\ngarbage line\r\n\r\n";
    int rc;
    ami_packet *p = parse_one(in, sizeof(in) - 1, 0, &rc);
    assert_null(p);
    assert_int_equal(rc, AMI_ERR_PROTOCOL);

    ami_parser *parser;
    assert_int_equal(ami_parser_create(&parser, 0), 0);
    assert_int_equal(ami_parser_feed(parser, in, sizeof(in) - 1), 0);
    const ami_packet *pkt;
    assert_int_equal(ami_parser_next(parser, &pkt), AMI_ERR_PROTOCOL);
    assert_int_equal(ami_parser_error(parser), AMI_ERR_PROTOCOL);
    assert_int_equal(ami_parser_error_offset(parser), 16); /* start of "garbage" */
    ami_parser_reset(parser);
    assert_int_equal(ami_parser_error(parser), 0);
    assert_int_equal(ami_parser_feed(parser, "Event: ok\n\n", 11), 0);
    assert_int_equal(ami_parser_next(parser, &pkt), 1);
    ami_parser_free(parser);
}

/* Limits fire before any terminator arrives, each with its own code. */
static void test_line_limit_before_terminator(void **state)
{
    (void)state;
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    ami_parser_set_limits(p, 100, 0, 0);
    char chunk[64];
    memset(chunk, 'x', sizeof(chunk));
    const ami_packet *pkt;
    assert_int_equal(ami_parser_feed(p, "Event: A\r\nK: ", 13), 0);
    assert_int_equal(ami_parser_next(p, &pkt), 0);
    assert_int_equal(ami_parser_feed(p, chunk, sizeof(chunk)), 0);
    assert_int_equal(ami_parser_next(p, &pkt), 0); /* 67 bytes: still fine */
    assert_int_equal(ami_parser_feed(p, chunk, sizeof(chunk)), 0);
    assert_int_equal(ami_parser_next(p, &pkt), AMI_ERR_LINE_LIMIT);
    assert_int_equal(ami_parser_error_offset(p), 10 + 100);
    ami_parser_free(p);

    /* A complete line over the limit is refused too. */
    char line[300];
    memset(line, 'y', sizeof(line));
    memcpy(line, "Event: ", 7);
    memcpy(line + sizeof(line) - 4, "\r\n\r\n", 4);
    int rc;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    ami_parser_set_limits(p, 100, 0, 0);
    assert_int_equal(ami_parser_feed(p, line, sizeof(line)), 0);
    rc = ami_parser_next(p, &pkt);
    assert_int_equal(rc, AMI_ERR_LINE_LIMIT);
    ami_parser_free(p);
}

static void test_header_limit(void **state)
{
    (void)state;
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    ami_parser_set_limits(p, 0, 10, 0);
    const ami_packet *pkt;
    assert_int_equal(ami_parser_feed(p, "Event: A\r\n", 10), 0);
    for (int i = 0; i < 9; i++)
        assert_int_equal(ami_parser_feed(p, "K: v\r\n", 6), 0);
    assert_int_equal(ami_parser_next(p, &pkt), 0); /* exactly 10 headers */
    assert_int_equal(ami_parser_feed(p, "K: v\r\n", 6), 0);
    assert_int_equal(ami_parser_next(p, &pkt), AMI_ERR_HEADER_LIMIT);
    assert_int_equal(ami_parser_error_offset(p), 10 + 9 * 6);
    ami_parser_free(p);
}

static void test_packet_limit(void **state)
{
    (void)state;
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    ami_parser_set_limits(p, 0, 0, 50);
    const ami_packet *pkt;
    assert_int_equal(ami_parser_feed(p, "Event: A\r\nK: 0123456789\r\n", 25), 0);
    assert_int_equal(ami_parser_next(p, &pkt), 0);
    assert_int_equal(ami_parser_feed(p, "K: 0123456789\r\nK: 01234567", 26), 0);
    assert_int_equal(ami_parser_next(p, &pkt), AMI_ERR_PACKET_LIMIT);
    assert_int_equal(ami_parser_error_offset(p), 50);
    ami_parser_free(p);

    /* Packets after the first are measured from their own start. */
    assert_int_equal(ami_parser_create(&p, 0), 0);
    ami_parser_set_limits(p, 0, 0, 50);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(ami_parser_feed(p, "Event: A\r\nK: 0123456789\r\n\r\n", 27), 0);
        assert_int_equal(ami_parser_next(p, &pkt), 1);
    }
    ami_parser_free(p);
}

/* Large real-world responses pass the defaults: 4 MiB of Command output. */
static void test_defaults_admit_large_output(void **state)
{
    (void)state;
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    const char *head = "Response: Success\r\nActionID: 1\r\nMessage: Command output follows\r\n";
    assert_int_equal(ami_parser_feed(p, head, strlen(head)), 0);
    const char *line = "Output: SIP/100-00000001   s@default:1          Up      "
                       "AppDial((Outgoing Line))\r\n";
    size_t n = (4u << 20) / strlen(line);
    const ami_packet *pkt;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ami_parser_feed(p, line, strlen(line)), 0);
        if (i % 1000 == 0)
            assert_int_equal(ami_parser_next(p, &pkt), 0);
    }
    assert_int_equal(ami_parser_feed(p, "\r\n", 2), 0);
    assert_int_equal(ami_parser_next(p, &pkt), 1);
    assert_int_equal(ami_packet_count_key(pkt, "Output"), n);
    ami_parser_free(p);
}

static void test_nul_bytes_keep_lengths(void **state)
{
    (void)state;
    static const char in[] = "Event: A\r\nK: a\0b\r\n\r\n";
    int rc;
    ami_packet *p = parse_one(in, sizeof(in) - 1, 0, &rc);
    assert_int_equal(rc, 1);
    size_t len;
    const char *v = ami_packet_getn(p, "K", &len);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "a\0b", 3);
    ami_packet_free(p);
}

/* Zero-copy feeding through reserve/commit gives the same packets. */
static void test_reserve_commit(void **state)
{
    (void)state;
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    static const char in[] = "Event: A\r\nK: v\r\n\r\nEvent: B\r\n\r\n";
    char *area;
    size_t avail;
    assert_int_equal(ami_parser_reserve(p, 5, &area, &avail), 0);
    assert_true(avail >= 5);
    memcpy(area, in, 5);
    assert_int_equal(ami_parser_commit(p, 5), 0);
    const ami_packet *pkt;
    assert_int_equal(ami_parser_next(p, &pkt), 0);
    assert_int_equal(ami_parser_buffered(p), 5);
    assert_int_equal(ami_parser_reserve(p, sizeof(in) - 6, &area, &avail), 0);
    memcpy(area, in + 5, sizeof(in) - 6);
    assert_int_equal(ami_parser_commit(p, sizeof(in) - 6), 0);
    assert_int_equal(ami_parser_next(p, &pkt), 1);
    assert_string_equal(ami_packet_event_name(pkt), "A");
    assert_int_equal(ami_parser_next(p, &pkt), 1);
    assert_string_equal(ami_packet_event_name(pkt), "B");
    assert_int_equal(ami_parser_next(p, &pkt), 0);
    assert_int_equal(ami_parser_buffered(p), 0);
    assert_int_equal(ami_parser_commit(p, SIZE_MAX), AMI_ERR_INVALID);
    ami_parser_free(p);
}

/* A packet returned by next() stays intact while more bytes are fed. */
static void test_packet_valid_until_next_call(void **state)
{
    (void)state;
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, 0), 0);
    assert_int_equal(ami_parser_feed(p, "Event: A\r\nK: v\r\n\r\n", 18), 0);
    const ami_packet *pkt;
    assert_int_equal(ami_parser_next(p, &pkt), 1);
    assert_string_equal(ami_packet_get(pkt, "K"), "v");
    ami_parser_free(p);
}

static void test_action_packets(void **state)
{
    (void)state;
    static const char in[] = "Action: Login\r\nUsername: admin\r\nSecret: x\r\n\r\n";
    int rc;
    ami_packet *p = parse_one(in, sizeof(in) - 1, 0, &rc);
    assert_int_equal(rc, 1);
    assert_int_equal(ami_packet_kind_of(p), AMI_PACKET_ACTION);
    assert_null(ami_packet_event_name(p));
    ami_packet_free(p);
}

/* An allocation failure is reported as AMI_ERR_NOMEM, never a crash. */
static void test_allocation_failures(void **state)
{
    (void)state;
    static const char in[] = "Event: A\r\nK: v\r\nK2: v\r\n\r\n";
    for (long n = 0;; n++) {
        ami__alloc_fail_after(n);
        ami_parser *p = NULL;
        int rc = ami_parser_create(&p, 0);
        const ami_packet *pkt = NULL;
        ami_packet *copy = NULL;
        if (rc == 0)
            rc = ami_parser_feed(p, in, sizeof(in) - 1);
        if (rc == 0)
            rc = ami_parser_next(p, &pkt);
        if (rc == 1)
            rc = ami_packet_dup(pkt, &copy);
        ami_parser_free(p);
        ami_packet_free(copy);
        ami__alloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, AMI_ERR_NOMEM);
        assert_true(n < 20);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_colon_only_and_one_space),
        cmocka_unit_test(test_repeated_keys_in_order),
        cmocka_unit_test(test_banner_versions),
        cmocka_unit_test(test_legacy_command_output),
        cmocka_unit_test(test_bare_lf_and_stray_blank_lines),
        cmocka_unit_test(test_line_without_colon_is_protocol_error),
        cmocka_unit_test(test_line_limit_before_terminator),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_packet_limit),
        cmocka_unit_test(test_defaults_admit_large_output),
        cmocka_unit_test(test_nul_bytes_keep_lengths),
        cmocka_unit_test(test_reserve_commit),
        cmocka_unit_test(test_packet_valid_until_next_call),
        cmocka_unit_test(test_action_packets),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
