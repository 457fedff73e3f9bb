/*
 * A scripted AMI server for tests (curl's tests/data, mosquitto's test/lib):
 * a thread listening on loopback port 0 that accepts one connection and
 * follows a list of steps — send bytes, trickle bytes, read an action and
 * answer it, sleep, close — recording every action the client sent so the
 * test can assert the exact bytes. Every wait is bounded, so a broken client
 * makes a test fail, never hang.
 *
 * In any bytes the server sends, "%ID%" is replaced by the ActionID of the
 * last action received (client ActionIDs are assigned by the session).
 */
#ifndef AMI_TEST_SCRIPT_SERVER_H
#define AMI_TEST_SCRIPT_SERVER_H

#include <stddef.h>

typedef enum ss_op {
    SS_OP_SEND,    /* send `data` in one write */
    SS_OP_TRICKLE, /* send `data` one byte per write, `ms` apart */
    SS_OP_ACTION,  /* read one action, check its name is `action` (NULL:
                    * any), then send `data` (may be empty) */
    SS_OP_SLEEP,   /* wait `ms`, still reading (ends early if the client
                    * closes) */
    SS_OP_CLOSE    /* shut the connection down now */
} ss_op;

typedef struct ss_step {
    ss_op op;
    const char *data;
    size_t len;
    const char *action;
    int ms;
    int echo_id; /* rewrite every "ActionID:" header value in `data` to the
                  * last received ActionID (for replaying captures) */
} ss_step;

#define SS_BANNER "Asterisk Call Manager/11.0.0\r\n"

#define SS_SEND(lit)                                                                               \
    {                                                                                              \
        SS_OP_SEND, (lit), sizeof(lit) - 1, NULL, 0, 0                                             \
    }
#define SS_TRICKLE(lit, ms)                                                                        \
    {                                                                                              \
        SS_OP_TRICKLE, (lit), sizeof(lit) - 1, NULL, (ms), 0                                       \
    }
#define SS_ACTION(name, reply)                                                                     \
    {                                                                                              \
        SS_OP_ACTION, (reply), sizeof(reply) - 1, (name), 0, 0                                     \
    }
#define SS_SLEEP(ms)                                                                               \
    {                                                                                              \
        SS_OP_SLEEP, NULL, 0, NULL, (ms), 0                                                        \
    }
#define SS_CLOSE()                                                                                 \
    {                                                                                              \
        SS_OP_CLOSE, NULL, 0, NULL, 0, 0                                                           \
    }

/* Longest any single step waits for the client. */
#define SS_STEP_TIMEOUT_MS 5000

typedef struct script_server script_server;

/* Listen on the loopback address of `family` (AF_INET or AF_INET6) and run
 * `steps` (which must stay valid until script_server_finish) in a thread.
 * Returns 0, or -1 when the family is unavailable (tests skip then). */
int script_server_start(script_server **out, int family, const ss_step *steps, size_t n_steps);
unsigned script_server_port(const script_server *ss);

/* Wait for the script to end. Returns 0 when every step ran as written,
 * else -1; script_server_error() says why. */
int script_server_finish(script_server *ss);
const char *script_server_error(const script_server *ss);

/* The actions received, in order: exact bytes (terminating blank line
 * included) and their ActionID ("" when absent). */
size_t script_server_action_count(const script_server *ss);
const char *script_server_action(const script_server *ss, size_t i, size_t *len);
const char *script_server_action_id(const script_server *ss, size_t i);

/* Finishes if needed, then frees. Accepts NULL. */
void script_server_free(script_server *ss);

/* A loopback port where nothing listens (bound, then closed), or 0. */
unsigned script_server_closed_port(int family);

/* Read $AMI_FIXTURES/<name> into a malloc'ed buffer (NUL-terminated);
 * NULL on failure. */
char *script_server_load_fixture(const char *name, size_t *len);

/* In a capture (.raw), the i-th packet after the banner line: sets *len
 * to its length (terminating blank line included); NULL if absent. */
const char *script_server_fixture_packet(const char *raw, size_t raw_len, size_t i, size_t *len);

#endif /* AMI_TEST_SCRIPT_SERVER_H */
