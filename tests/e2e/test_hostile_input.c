/*
 * Hostile caller input: every API that takes a key, value, name, prefix or
 * ActionID is tried with CR, LF, NUL, "\r\n\r\n" followed by a second
 * action, and over-long values. Each must be refused with its documented
 * code, leave the object unchanged, and — through the client — put nothing
 * on the wire: a scripted server records the exact bytes and must see only
 * the legitimate actions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ami/client.h>

#include "script_server.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Each is an attempt to smuggle `Action: Command` past the builder. */
static const char *const injections[] = {
    "x\r\nAction: Command\r\nCommand: core stop now",
    "x\nAction: Command",
    "x\rAction: Command",
    "x\r\n\r\nAction: Command\r\nCommand: core stop now\r\n\r\n",
    "\r\n",
    "\n",
    "\r",
};
#define N_INJ (sizeof injections / sizeof injections[0])

static const void *find_bytes(const void *hay, size_t n, const char *needle, size_t k)
{
    const char *h = hay;
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(h + i, needle, k) == 0)
            return h + i;
    return NULL;
}

static char *wire(const ami_action *a)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(ami_action_serialize(a, "id-1", &out, &len), 0);
    assert_int_equal(strlen(out), len);
    return out;
}

/* The action's wire form did not change. */
static void unchanged(const ami_action *a, const char *before)
{
    char *now = wire(a);
    assert_string_equal(now, before);
    free(now);
}

static void test_action_builder_refuses(void **state)
{
    (void)state;
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Ping"), 0);
    assert_int_equal(ami_action_add(a, "Keep", "me"), 0);
    char *before = wire(a);
    for (size_t i = 0; i < N_INJ; i++) {
        const char *bad = injections[i];
        assert_int_equal(ami_action_add(a, "Key", bad), AMI_ERR_INJECTION);
        assert_int_equal(ami_action_add(a, bad, "v"), AMI_ERR_INJECTION);
        assert_int_equal(ami_action_set(a, "Keep", bad), AMI_ERR_INJECTION);
        assert_int_equal(ami_action_add_var(a, "Variable", bad, "v"), AMI_ERR_INJECTION);
        assert_int_equal(ami_action_add_var(a, "Variable", "n", bad), AMI_ERR_INJECTION);
        assert_int_equal(ami_action_addn(a, "Key", 3, bad, strlen(bad)), AMI_ERR_INJECTION);
        ami_action *b = NULL;
        assert_int_equal(ami_action_create(&b, bad), AMI_ERR_INJECTION);
        assert_null(b);
        char *out = NULL;
        size_t len = 0;
        assert_int_equal(ami_action_serialize(a, bad, &out, &len), AMI_ERR_INJECTION);
        assert_null(out);
        unchanged(a, before);
    }
    /* NUL inside a counted value or key. */
    assert_int_equal(ami_action_addn(a, "Key", 3, "a\0Action: X", 11), AMI_ERR_INJECTION);
    assert_int_equal(ami_action_addn(a, "K\0y", 3, "v", 1), AMI_ERR_INJECTION);
    /* A colon in a key would split it into another header. */
    assert_int_equal(ami_action_add(a, "Action: Command\r\nX", "v"), AMI_ERR_INJECTION);
    assert_int_equal(ami_action_add(a, "Command: core stop now", "v"), AMI_ERR_BAD_KEY);
    assert_int_equal(ami_action_add(a, "", "v"), AMI_ERR_BAD_KEY);
    /* Over-long: Asterisk would truncate and read the rest as a new line. */
    char *big = malloc(AMI_ACTION_MAX_LINE + 1);
    memset(big, 'A', AMI_ACTION_MAX_LINE);
    big[AMI_ACTION_MAX_LINE] = '\0';
    assert_int_equal(ami_action_add(a, "Key", big), AMI_ERR_TOO_LONG);
    assert_int_equal(ami_action_add(a, big, "v"), AMI_ERR_TOO_LONG);
    assert_int_equal(ami_action_add_var(a, "Variable", "n", big), AMI_ERR_TOO_LONG);
    /* The longest line accepted: "Key: " + value + CRLF is exactly the limit. */
    big[AMI_ACTION_MAX_LINE - 7] = '\0';
    assert_int_equal(ami_action_add(a, "Key", big), 0);
    free(big);
    ami_action_free(a);
    free(before);

    /* Too many headers. */
    assert_int_equal(ami_action_create(&a, "Ping"), 0);
    int rc = 0, added = 0;
    for (int i = 0; i < AMI_ACTION_MAX_HEADERS + 10 && rc == 0; i++)
        if ((rc = ami_action_add(a, "V", "x")) == 0)
            added++;
    assert_int_equal(rc, AMI_ERR_TOO_MANY);
    assert_true(added < AMI_ACTION_MAX_HEADERS);
    ami_action_free(a);
}

static void test_session_prefix_refuses(void **state)
{
    (void)state;
    ami_session *s = NULL;
    assert_int_equal(ami_session_create(&s), 0);
    assert_int_equal(ami_session_set_id_prefix(s, "ok-"), 0);
    for (size_t i = 0; i < N_INJ; i++)
        assert_int_equal(ami_session_set_id_prefix(s, injections[i]), AMI_ERR_INJECTION);
    char big[4096];
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(ami_session_set_id_prefix(s, big), AMI_ERR_TOO_LONG);
    /* The accepted prefix is still the one used. */
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Ping"), 0);
    const char *id = NULL;
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, NULL, NULL, &id), 0);
    assert_int_equal(strncmp(id, "ok-", 3), 0);
    ami_action_free(a);
    ami_session_free(s);
}

static void noop_result(ami_session *s, ami_result *r, void *ud)
{
    (void)s;
    (void)ud;
    ami_result_free(r);
}

#define PONG "Response: Success\r\nActionID: %ID%\r\nPing: Pong\r\n\r\n"

/* Through the client: refused logins and actions put no byte on the wire;
 * only the final Ping reaches the server. */
static void test_client_sends_nothing_hostile(void **state)
{
    (void)state;
    const ss_step steps[] = {SS_SEND(SS_BANNER), SS_ACTION("Ping", PONG), SS_SLEEP(200)};
    script_server *ss = NULL;
    assert_int_equal(script_server_start(&ss, AF_INET, steps, 3), 0);
    ami_client *c = NULL;
    assert_int_equal(ami_client_create(&c), 0);
    assert_int_equal(ami_client_connect(c, "127.0.0.1", script_server_port(ss), 2000), 0);
    static const char secret[] = "s3cret-\r\nAction: Command";
    for (size_t i = 0; i < N_INJ; i++) {
        const char *bad = injections[i];
        int rc = ami_client_login(c, bad, "pw", AMI_LOGIN_PLAIN, NULL, 500);
        assert_int_equal(rc, AMI_ERR_INJECTION);
        rc = ami_client_login(c, "admin", bad, AMI_LOGIN_PLAIN, NULL, 500);
        assert_int_equal(rc, AMI_ERR_INJECTION);
        rc = ami_client_login(c, "admin", "pw", AMI_LOGIN_PLAIN, bad, 500);
        assert_int_equal(rc, AMI_ERR_INJECTION);
    }
    /* A refused secret is never echoed back in the message. */
    assert_int_equal(ami_client_login(c, "admin", secret, AMI_LOGIN_PLAIN, NULL, 500),
                     AMI_ERR_INJECTION);
    assert_null(strstr(ami_client_errmsg(c), "s3cret"));
    /* Nothing was queued either. */
    assert_int_equal(ami_session_pending_count(ami_client_session(c)), 0);
    const char *out = NULL;
    size_t out_len = 0;
    ami_session_output(ami_client_session(c), &out, &out_len);
    assert_int_equal(out_len, 0);

    ami_action *ping = NULL;
    assert_int_equal(ami_action_create(&ping, "Ping"), 0);
    ami_result *r = NULL;
    assert_int_equal(ami_client_call(c, ping, 2000, &r), 0);
    ami_result_free(r);
    ami_action_free(ping);
    ami_client_free(c);
    assert_int_equal(script_server_finish(ss), 0);
    assert_int_equal(script_server_action_count(ss), 1);
    size_t len = 0;
    const char *got = script_server_action(ss, 0, &len);
    assert_int_equal(strncmp(got, "Action: Ping\r\n", 14), 0);
    assert_null(find_bytes(got, len, "Command", 7));
    script_server_free(ss);

    /* And the session path with an ActionID header the caller chose. */
    ami_session *s = NULL;
    assert_int_equal(ami_session_create(&s), 0);
    ami_action *a = NULL;
    assert_int_equal(ami_action_create(&a, "Ping"), 0);
    assert_int_equal(ami_action_add(a, "ActionID", "id\r\nAction: Command"), AMI_ERR_INJECTION);
    assert_int_equal(ami_session_send(s, a, AMI_NO_DEADLINE, noop_result, NULL, NULL), 0);
    ami_session_output(s, &out, &out_len);
    assert_null(find_bytes(out, out_len, "Command", 7));
    ami_action_free(a);
    ami_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_builder_refuses),
        cmocka_unit_test(test_session_prefix_refuses),
        cmocka_unit_test(test_client_sends_nothing_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
