/* Unit tests of action building: validation, limits and exact wire bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ami/ami.h>

static ami_action *make(const char *name)
{
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, name), AMI_OK);
    assert_non_null(a);
    return a;
}

/* Serialize and compare with the exact expected bytes. */
static void assert_wire(const ami_action *a, const char *id, const char *expected)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(ami_action_serialize(a, id, &out, &len), AMI_OK);
    assert_int_equal(len, strlen(expected));
    assert_memory_equal(out, expected, len);
    free(out);
}

static void test_serialize_exact_bytes(void **state)
{
    (void)state;
    ami_action *a = make("Originate");
    assert_int_equal(ami_action_add(a, "Channel", "Local/100@test"), AMI_OK);
    assert_int_equal(ami_action_add(a, "Context", "test"), AMI_OK);
    assert_int_equal(ami_action_add_var(a, "Variable", "FOO", "bar"), AMI_OK);
    assert_int_equal(ami_action_add_var(a, "Variable", "X", "a=b: c"), AMI_OK);
    assert_int_equal(ami_action_add(a, "Empty", ""), AMI_OK);
    assert_int_equal(ami_action_count(a), 5);
    assert_string_equal(ami_action_name(a), "Originate");
    assert_wire(a, "id-1",
                "Action: Originate\r\nActionID: id-1\r\nChannel: Local/100@test\r\n"
                "Context: test\r\nVariable: FOO=bar\r\nVariable: X=a=b: c\r\nEmpty: \r\n\r\n");
    assert_wire(a, NULL,
                "Action: Originate\r\nChannel: Local/100@test\r\n"
                "Context: test\r\nVariable: FOO=bar\r\nVariable: X=a=b: c\r\nEmpty: \r\n\r\n");
    ami_action_free(a);

    a = make("Ping");
    assert_wire(a, NULL, "Action: Ping\r\n\r\n");
    ami_action_free(a);
}

static void test_own_action_id_replaced_by_argument(void **state)
{
    (void)state;
    ami_action *a = make("Ping");
    assert_int_equal(ami_action_add(a, "X", "1"), AMI_OK);
    assert_int_equal(ami_action_add(a, "actionid", "mine"), AMI_OK);
    assert_int_equal(ami_action_add(a, "Y", "2"), AMI_OK);
    assert_string_equal(ami_action_get(a, "ActionID"), "mine");
    /* Kept in place when no id is given, replaced (and moved up) when one is. */
    assert_wire(a, NULL, "Action: Ping\r\nX: 1\r\nactionid: mine\r\nY: 2\r\n\r\n");
    assert_wire(a, "other", "Action: Ping\r\nActionID: other\r\nX: 1\r\nY: 2\r\n\r\n");
    ami_action_free(a);
}

static void test_injection_refused(void **state)
{
    (void)state;
    ami_action *a = make("Command");
    assert_int_equal(ami_action_add(a, "Command", "core show uptime"), AMI_OK);
    static const char *const bad[] = {
        "a\r\nAction: Command", "x\n", "x\r", "\r\n\r\n", "\rAction: Logoff", "ok\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ami_action_add(a, "Command", bad[i]), AMI_ERR_INJECTION);
        assert_int_equal(ami_action_add(a, bad[i], "v"), AMI_ERR_INJECTION);
        assert_int_equal(ami_action_set(a, "Command", bad[i]), AMI_ERR_INJECTION);
        assert_int_equal(ami_action_add_var(a, "Variable", bad[i], "v"), AMI_ERR_INJECTION);
        assert_int_equal(ami_action_add_var(a, "Variable", "n", bad[i]), AMI_ERR_INJECTION);
        ami_action *b = NULL;
        assert_int_equal(ami_action_create(&b, bad[i]), AMI_ERR_INJECTION);
        assert_null(b);
        char *out = (char *)1;
        assert_int_equal(ami_action_serialize(a, bad[i], &out, NULL), AMI_ERR_INJECTION);
        assert_null(out);
    }
    /* Embedded NUL through the length-taking variant, in key and value. */
    assert_int_equal(ami_action_addn(a, "Command", 7, "core\0show", 9), AMI_ERR_INJECTION);
    assert_int_equal(ami_action_addn(a, "Com\0mand", 8, "x", 1), AMI_ERR_INJECTION);
    assert_int_equal(ami_action_addn(a, "Command", 7, "\0", 1), AMI_ERR_INJECTION);

    /* Every refusal left the action exactly as it was. */
    assert_int_equal(ami_action_count(a), 1);
    assert_wire(a, "1", "Action: Command\r\nActionID: 1\r\nCommand: core show uptime\r\n\r\n");
    ami_action_free(a);
}

static void test_bad_keys(void **state)
{
    (void)state;
    ami_action *a = make("Getvar");
    assert_int_equal(ami_action_add(a, "", "v"), AMI_ERR_BAD_KEY);
    assert_int_equal(ami_action_add(a, "Key:", "v"), AMI_ERR_BAD_KEY);
    assert_int_equal(ami_action_add(a, "Action: Logoff\r\nX", "v"), AMI_ERR_INJECTION);
    assert_int_equal(ami_action_add(a, ":", "v"), AMI_ERR_BAD_KEY);
    assert_int_equal(ami_action_addn(a, "Ke:y", 4, "v", 1), AMI_ERR_BAD_KEY);
    assert_int_equal(ami_action_set(a, "A:B", "v"), AMI_ERR_BAD_KEY);
    assert_int_equal(ami_action_add_var(a, "", "n", "v"), AMI_ERR_BAD_KEY);
    assert_int_equal(ami_action_count(a), 0);
    /* Spaces, parentheses and slashes are legal in keys. */
    assert_int_equal(ami_action_add(a, "ChanVariable(PJSIP/100)", "x"), AMI_OK);
    assert_int_equal(ami_action_add(a, "Key With Space", "y"), AMI_OK);
    assert_wire(a, NULL,
                "Action: Getvar\r\nChanVariable(PJSIP/100): x\r\nKey With Space: y\r\n\r\n");
    /* Values may hold colons. */
    assert_int_equal(ami_action_add(a, "Value", "hello: world"), AMI_OK);
    assert_string_equal(ami_action_get(a, "value"), "hello: world");
    ami_action_free(a);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(NULL, "Ping"), AMI_ERR_INVALID);
    assert_int_equal(ami_action_create(&a, NULL), AMI_ERR_INVALID);
    a = make("Ping");
    assert_int_equal(ami_action_add(NULL, "k", "v"), AMI_ERR_INVALID);
    assert_int_equal(ami_action_add(a, NULL, "v"), AMI_ERR_INVALID);
    assert_int_equal(ami_action_add(a, "k", NULL), AMI_ERR_INVALID);
    assert_int_equal(ami_action_set(a, "k", NULL), AMI_ERR_INVALID);
    assert_int_equal(ami_action_add_var(a, "k", NULL, "v"), AMI_ERR_INVALID);
    assert_int_equal(ami_action_serialize(NULL, NULL, NULL, NULL), AMI_ERR_INVALID);
    assert_null(ami_action_get(a, "missing"));
    assert_null(ami_action_get(NULL, "k"));
    assert_int_equal(ami_action_count(NULL), 0);
    ami_action_free(a);
    ami_action_free(NULL);
}

static void test_line_length_limit(void **state)
{
    (void)state;
    ami_action *a = make("Setvar");
    /* "Value: " + v + "\r\n" must fit in 1024 bytes. */
    size_t max = AMI_ACTION_MAX_LINE - strlen("Value: \r\n");
    char *v = malloc(AMI_ACTION_MAX_LINE + 2);
    memset(v, 'x', AMI_ACTION_MAX_LINE + 1);
    v[max + 1] = '\0';
    assert_int_equal(ami_action_add(a, "Value", v), AMI_ERR_TOO_LONG);
    assert_int_equal(ami_action_count(a), 0);
    v[max] = '\0';
    assert_int_equal(ami_action_add(a, "Value", v), AMI_OK);
    /* Same limit through add_var: "Variable: " + name "=" value + CRLF. */
    size_t var_max = AMI_ACTION_MAX_LINE - strlen("Variable: N=\r\n");
    memset(v, 'y', AMI_ACTION_MAX_LINE + 1);
    v[var_max + 1] = '\0';
    assert_int_equal(ami_action_add_var(a, "Variable", "N", v), AMI_ERR_TOO_LONG);
    v[var_max] = '\0';
    assert_int_equal(ami_action_add_var(a, "Variable", "N", v), AMI_OK);
    /* The key counts too, and so does the action name. */
    memset(v, 'k', AMI_ACTION_MAX_LINE + 1);
    v[AMI_ACTION_MAX_LINE] = '\0';
    assert_int_equal(ami_action_add(a, v, ""), AMI_ERR_TOO_LONG);
    ami_action *b = NULL;
    assert_int_equal(ami_action_create(&b, v), AMI_ERR_TOO_LONG);
    /* And an over-long ActionID given to serialize. */
    char *out = NULL;
    v[AMI_ACTION_MAX_LINE - strlen("ActionID: \r\n") + 1] = '\0';
    assert_int_equal(ami_action_serialize(a, v, &out, NULL), AMI_ERR_TOO_LONG);
    v[AMI_ACTION_MAX_LINE - strlen("ActionID: \r\n")] = '\0';
    assert_int_equal(ami_action_serialize(a, v, &out, NULL), AMI_OK);
    free(out);
    assert_int_equal(ami_action_count(a), 2);
    free(v);
    ami_action_free(a);
}

static void test_header_count_limit(void **state)
{
    (void)state;
    ami_action *a = make("UserEvent");
    char key[32];
    /* Action: takes one of the 128 lines. */
    for (int i = 0; i < AMI_ACTION_MAX_HEADERS - 1; i++) {
        snprintf(key, sizeof(key), "H%d", i);
        assert_int_equal(ami_action_add(a, key, "v"), AMI_OK);
    }
    assert_int_equal(ami_action_count(a), AMI_ACTION_MAX_HEADERS - 1);
    assert_int_equal(ami_action_add(a, "One", "more"), AMI_ERR_TOO_MANY);
    assert_int_equal(ami_action_add_var(a, "Variable", "a", "b"), AMI_ERR_TOO_MANY);
    assert_int_equal(ami_action_set(a, "New", "x"), AMI_ERR_TOO_MANY);
    assert_int_equal(ami_action_count(a), AMI_ACTION_MAX_HEADERS - 1);
    /* Replacing an existing header needs no new line. */
    assert_int_equal(ami_action_set(a, "H5", "replaced"), AMI_OK);
    assert_string_equal(ami_action_get(a, "h5"), "replaced");

    /* 128 lines without an ActionID; adding one would make 129. */
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(ami_action_serialize(a, NULL, &out, &len), AMI_OK);
    free(out);
    assert_int_equal(ami_action_serialize(a, "id", &out, &len), AMI_ERR_TOO_MANY);
    assert_null(out);
    ami_action_free(a);

    /* With its own ActionID among the 127, an id replaces it and fits. */
    a = make("UserEvent");
    assert_int_equal(ami_action_add(a, "ActionID", "own"), AMI_OK);
    for (int i = 0; i < AMI_ACTION_MAX_HEADERS - 2; i++) {
        snprintf(key, sizeof(key), "H%d", i);
        assert_int_equal(ami_action_add(a, key, "v"), AMI_OK);
    }
    assert_int_equal(ami_action_serialize(a, "id", &out, &len), AMI_OK);
    assert_non_null(strstr(out, "Action: UserEvent\r\nActionID: id\r\nH0: v\r\n"));
    assert_null(strstr(out, "own"));
    free(out);
    ami_action_free(a);
}

static void test_set_replaces_all_and_keeps_order(void **state)
{
    (void)state;
    ami_action *a = make("Originate");
    assert_int_equal(ami_action_add(a, "Variable", "A=1"), AMI_OK);
    assert_int_equal(ami_action_add(a, "Channel", "Local/1@x"), AMI_OK);
    assert_int_equal(ami_action_add(a, "variable", "B=2"), AMI_OK);
    assert_int_equal(ami_action_add(a, "Exten", "s"), AMI_OK);
    assert_int_equal(ami_action_add(a, "VARIABLE", "C=3"), AMI_OK);
    assert_int_equal(ami_action_set(a, "Variable", "Z=9"), AMI_OK);
    assert_int_equal(ami_action_count(a), 3);
    assert_wire(a, NULL,
                "Action: Originate\r\nVariable: Z=9\r\nChannel: Local/1@x\r\nExten: s\r\n\r\n");
    /* Set on a missing key appends. */
    assert_int_equal(ami_action_set(a, "Priority", "1"), AMI_OK);
    assert_wire(a, NULL,
                "Action: Originate\r\nVariable: Z=9\r\nChannel: Local/1@x\r\nExten: s\r\n"
                "Priority: 1\r\n\r\n");
    /* A refused set changes nothing, duplicates included. */
    assert_int_equal(ami_action_add(a, "Exten", "t"), AMI_OK);
    assert_int_equal(ami_action_set(a, "Exten", "bad\r\n"), AMI_ERR_INJECTION);
    assert_int_equal(ami_action_count(a), 5);
    assert_wire(a, NULL,
                "Action: Originate\r\nVariable: Z=9\r\nChannel: Local/1@x\r\nExten: s\r\n"
                "Priority: 1\r\nExten: t\r\n\r\n");
    ami_action_free(a);
}

static void test_serialized_action_parses_back(void **state)
{
    (void)state;
    ami_action *a = make("UserEvent");
    assert_int_equal(ami_action_add(a, "UserEvent", "TestEvent"), AMI_OK);
    assert_int_equal(ami_action_add(a, "Header1", "one"), AMI_OK);
    assert_int_equal(ami_action_add(a, "Header1", "two: with colon"), AMI_OK);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(ami_action_serialize(a, "ue-1", &out, &len), AMI_OK);
    ami_parser *p = NULL;
    assert_int_equal(ami_parser_create(&p, 0), AMI_OK);
    assert_int_equal(ami_parser_feed(p, out, len), AMI_OK);
    const ami_packet *pkt = NULL;
    assert_int_equal(ami_parser_next(p, &pkt), 1);
    assert_int_equal(ami_packet_kind_of(pkt), AMI_PACKET_ACTION);
    assert_string_equal(ami_packet_action_id(pkt), "ue-1");
    assert_int_equal(ami_packet_count_key(pkt, "Header1"), 2);
    size_t cursor = 0;
    assert_string_equal(ami_packet_next_value(pkt, "Header1", &cursor, NULL), "one");
    assert_string_equal(ami_packet_next_value(pkt, "Header1", &cursor, NULL), "two: with colon");
    /* Exactly one action: nothing left over. */
    assert_int_equal(ami_parser_next(p, &pkt), 0);
    assert_int_equal(ami_parser_buffered(p), 0);
    ami_parser_free(p);
    free(out);
    ami_action_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serialize_exact_bytes),
        cmocka_unit_test(test_own_action_id_replaced_by_argument),
        cmocka_unit_test(test_injection_refused),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_line_length_limit),
        cmocka_unit_test(test_header_count_limit),
        cmocka_unit_test(test_set_replaces_all_and_keeps_order),
        cmocka_unit_test(test_serialized_action_parses_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
