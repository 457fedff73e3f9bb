/*
 * libami — Asterisk Manager Interface (AMI) in C.
 *
 * This header holds the sans-I/O core: errors, packets, actions, the
 * streaming parser and the session. None of it touches a socket or a clock:
 * bytes go in, bytes come out, and time is passed in by the caller. The
 * blocking client lives in <ami/client.h>.
 *
 * Ownership, one rule for the whole API:
 *   - an object returned through `T **out` belongs to the caller, who frees
 *     it with the matching `ami_T_free()`; every `_free()` accepts NULL;
 *   - a `const T *` handed to the caller (a packet from the parser, a packet
 *     given to an event callback) is borrowed: it stays valid until the next
 *     call on the object that produced it (or until the callback returns).
 *     `ami_packet_dup()` makes an owned copy;
 *   - a result handed to an action callback is owned by the callback, which
 *     must free it with `ami_result_free()` (it may keep it as long as it
 *     likes first).
 *
 * Threads: one handle, one thread at a time. libami takes no locks and keeps
 * no global state; there is no init function.
 */
#ifndef AMI_AMI_H
#define AMI_AMI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(AMI_STATIC)
#define AMI_EXPORT
#elif defined(__GNUC__)
#define AMI_EXPORT __attribute__((visibility("default")))
#else
#define AMI_EXPORT
#endif

#define AMI_VERSION_MAJOR  0
#define AMI_VERSION_MINOR  1
#define AMI_VERSION_PATCH  0
#define AMI_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Every fallible call returns 0 (or a positive count) on success and one of
 * these negative codes on failure; each function's comment lists the codes
 * it can return. ami_strerror() turns a code into a static string; handles
 * also keep a message with the details (the host, the server's Message:,
 * the system error text), written for the person running the program:
 * what failed, never which libami function to call (a message about
 * calling the API wrongly, AMI_ERR_INVALID or AMI_ERR_STATE, may name it).
 *
 * Fatal codes. Some codes end what they happen to, and the comments say so:
 *   - for a parser, every error is sticky (ami_parser_reset starts over);
 *   - for a session, a receive error (AMI_ERR_LINE_LIMIT,
 *     AMI_ERR_HEADER_LIMIT, AMI_ERR_PACKET_LIMIT, AMI_ERR_PROTOCOL,
 *     AMI_ERR_BAD_BANNER, or AMI_ERR_NOMEM while queueing an event) fails
 *     every pending action and the session: ami_session_failed() returns
 *     the code, send and recv refuse, and only closing the connection
 *     (ami_session_disconnected, for a new one) or ami_session_free makes
 *     sense;
 *   - for the blocking client, a code that ends the connection
 *     (AMI_ERR_DISCONNECTED, AMI_ERR_CLOSED, AMI_ERR_TLS, AMI_ERR_IO and
 *     the session's fatal codes) is returned again by every later call
 *     until ami_client_connect makes a new one (ami_client_fd() is -1);
 *   - the event-loop client reports connection failures to its state
 *     callback and reconnects; its calls never return them.
 * The other codes (AMI_ERR_INVALID, AMI_ERR_INJECTION, AMI_ERR_TIMEOUT of
 * one action, AMI_ERR_ACTION_FAILED, ...) leave the handle as it was.
 *
 * Callbacks. Each handle's header says which calls are allowed inside its
 * callbacks; the pure functions (packets, actions, results, ami_strerror,
 * ami_md5_key) are allowed anywhere.
 */
typedef enum ami_error {
    AMI_OK = 0,
    AMI_ERR_NOMEM = -1,          /* an allocation failed */
    AMI_ERR_INVALID = -2,        /* a NULL or out-of-range argument */
    AMI_ERR_INJECTION = -3,      /* CR, LF or NUL in a key or value */
    AMI_ERR_BAD_KEY = -4,        /* empty key, or ':' in a key */
    AMI_ERR_TOO_LONG = -5,       /* a line longer than Asterisk accepts */
    AMI_ERR_TOO_MANY = -6,       /* more header lines than Asterisk accepts */
    AMI_ERR_LINE_LIMIT = -7,     /* received line over the parser's limit */
    AMI_ERR_HEADER_LIMIT = -8,   /* received packet has too many headers */
    AMI_ERR_PACKET_LIMIT = -9,   /* received packet over the byte limit */
    AMI_ERR_PROTOCOL = -10,      /* the peer broke the AMI framing */
    AMI_ERR_BAD_BANNER = -11,    /* first line is not an AMI banner */
    AMI_ERR_ACTION_FAILED = -12, /* the server answered Response: Error */
    AMI_ERR_TIMEOUT = -13,       /* a deadline passed */
    AMI_ERR_DISCONNECTED = -14,  /* the connection closed or broke */
    AMI_ERR_CANCELLED = -15,     /* the action was cancelled or the handle freed */
    AMI_ERR_AUTH = -16,          /* authentication failed */
    AMI_ERR_CONNECT = -17,       /* connection could not be established */
    AMI_ERR_REFUSED = -18,       /* connection refused */
    AMI_ERR_RESOLVE = -19,       /* host name could not be resolved */
    AMI_ERR_EOF_BANNER = -20,    /* the server closed before its banner */
    AMI_ERR_IO = -21,            /* a system call failed */
    AMI_ERR_DUPLICATE_ID = -22,  /* ActionID already pending */
    AMI_ERR_STATE = -23,         /* call not allowed in this state */
    AMI_ERR_QUEUE_FULL = -24,    /* event queue full: consume events */
    AMI_ERR_UNSUPPORTED = -25,   /* feature not built in (e.g. MD5) */
    AMI_ERR_CLOSED = -26,        /* the server said Goodbye */
    AMI_ERR_TLS = -27,           /* TLS handshake or record-layer failure */
    AMI_ERR_TLS_VERIFY = -28     /* the server's certificate did not verify */
} ami_error;

/* A static, never-NULL string describing `code` (also for unknown codes). */
AMI_EXPORT const char *ami_strerror(int code);

/* The library's version string, e.g. "0.1.0". */
AMI_EXPORT const char *ami_version(void);

/* ------------------------------------------------------------------------ */
/* Packets                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * A packet is an ordered list of `Key: Value` headers as received. Repeated
 * keys are kept in order. Keys and values point into the packet's storage,
 * are NUL-terminated for convenience and also carry their exact length
 * (a hostile peer may send NUL bytes; use the lengths where that matters).
 */
typedef struct ami_packet ami_packet;

typedef enum ami_packet_kind {
    AMI_PACKET_UNKNOWN = 0, /* first header is neither Response nor Event */
    AMI_PACKET_BANNER,      /* one header, "Banner", the greeting line */
    AMI_PACKET_RESPONSE,    /* first header is Response: */
    AMI_PACKET_EVENT,       /* first header is Event: */
    AMI_PACKET_ACTION       /* first header is Action: (server side) */
} ami_packet_kind;

typedef enum ami_response_type {
    AMI_RESPONSE_NONE = 0, /* not a response */
    AMI_RESPONSE_SUCCESS,
    AMI_RESPONSE_ERROR,
    AMI_RESPONSE_FOLLOWS, /* legacy Command output (Asterisk <= 13) */
    AMI_RESPONSE_GOODBYE,
    AMI_RESPONSE_OTHER
} ami_response_type;

/* Kind, from the packet's first header only (an OriginateResponse event
 * carries a Response: header too, but it is an event). */
AMI_EXPORT ami_packet_kind ami_packet_kind_of(const ami_packet *p);
AMI_EXPORT ami_response_type ami_packet_response_type(const ami_packet *p);

/* True (1) when the packet used the legacy `Response: Follows` framing; its
 * body lines are then exposed as repeated "Output" headers. */
AMI_EXPORT int ami_packet_is_legacy_output(const ami_packet *p);

AMI_EXPORT size_t ami_packet_count(const ami_packet *p);

/* The i-th header, 0-based. Any of the out-pointers may be NULL.
 * Errors: AMI_ERR_INVALID (p NULL or i out of range). */
AMI_EXPORT int ami_packet_header(const ami_packet *p, size_t i, const char **key, size_t *key_len,
                                 const char **value, size_t *value_len);

/* First value of `key` (ASCII case-insensitive), or NULL. */
AMI_EXPORT const char *ami_packet_get(const ami_packet *p, const char *key);
/* Same, with the value's length; returns NULL when absent. */
AMI_EXPORT const char *ami_packet_getn(const ami_packet *p, const char *key, size_t *value_len);

/* Iterate over every value of `key` in order: start with *cursor = 0, call
 * until it returns NULL. */
AMI_EXPORT const char *ami_packet_next_value(const ami_packet *p, const char *key, size_t *cursor,
                                             size_t *value_len);

/* How many headers are named `key`. */
AMI_EXPORT size_t ami_packet_count_key(const ami_packet *p, const char *key);

/* Shortcuts: the Event: name, the ActionID, the server's Message: (NULL
 * when absent). */
AMI_EXPORT const char *ami_packet_event_name(const ami_packet *p);
AMI_EXPORT const char *ami_packet_action_id(const ami_packet *p);
AMI_EXPORT const char *ami_packet_message(const ami_packet *p);

/* Bytes the packet occupied on the wire. */
AMI_EXPORT size_t ami_packet_wire_size(const ami_packet *p);

/* Owned deep copy (one allocation); free with ami_packet_free().
 * Errors: AMI_ERR_INVALID (a NULL argument), AMI_ERR_NOMEM. */
AMI_EXPORT int ami_packet_dup(const ami_packet *p, ami_packet **out);
AMI_EXPORT void ami_packet_free(ami_packet *p);

/* Parse a banner line ("Asterisk Call Manager/11.0.0", also the
 * "Asterisk Call Manager Proxy/..." form). Fills the version numbers that are
 * present (others set to 0). Returns 0, or AMI_ERR_BAD_BANNER. */
AMI_EXPORT int ami_banner_parse(const char *line, size_t len, int *major, int *minor, int *patch);

/* ------------------------------------------------------------------------ */
/* Actions                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * An action under construction. Every key and value is checked when added:
 * CR, LF or NUL anywhere gives AMI_ERR_INJECTION, an empty key or a key with
 * ':' gives AMI_ERR_BAD_KEY, a line over AMI_ACTION_MAX_LINE bytes gives
 * AMI_ERR_TOO_LONG and more than AMI_ACTION_MAX_HEADERS lines gives
 * AMI_ERR_TOO_MANY. A refused add leaves the action unchanged: nothing a
 * caller passes can make libami send a second action.
 */
typedef struct ami_action ami_action;

/* Asterisk reads at most 1024 bytes per line (CRLF included) and 128 lines
 * per action (manager.c); libami refuses more locally. */
#define AMI_ACTION_MAX_LINE    1024
#define AMI_ACTION_MAX_HEADERS 128

/* Errors: AMI_ERR_INVALID (NULL, or an empty name), AMI_ERR_INJECTION
 * (CR, LF or NUL in the name), AMI_ERR_TOO_LONG, AMI_ERR_NOMEM. */
AMI_EXPORT int ami_action_create(ami_action **out, const char *name);
AMI_EXPORT void ami_action_free(ami_action *a);

/* Append a header (repeats allowed and kept in order). These four return
 * 0 or AMI_ERR_INVALID (a NULL argument), AMI_ERR_INJECTION,
 * AMI_ERR_BAD_KEY, AMI_ERR_TOO_LONG, AMI_ERR_TOO_MANY, AMI_ERR_NOMEM; a
 * refused call leaves the action unchanged. */
AMI_EXPORT int ami_action_add(ami_action *a, const char *key, const char *value);
AMI_EXPORT int ami_action_addn(ami_action *a, const char *key, size_t key_len, const char *value,
                               size_t value_len);
/* Replace every header named `key` by one header (or append it). */
AMI_EXPORT int ami_action_set(ami_action *a, const char *key, const char *value);
/* Append `key: name=value`, e.g. ("Variable", "FOO", "bar"). */
AMI_EXPORT int ami_action_add_var(ami_action *a, const char *key, const char *name,
                                  const char *value);

AMI_EXPORT const char *ami_action_name(const ami_action *a);
/* First value of `key` (case-insensitive), or NULL. */
AMI_EXPORT const char *ami_action_get(const ami_action *a, const char *key);
AMI_EXPORT size_t ami_action_count(const ami_action *a);

/* Serialize to wire form ("Action: X\r\n...\r\n\r\n"). If `action_id` is
 * not NULL it is written as the ActionID header right after Action:
 * (replacing any ActionID header the action holds). Writes into a buffer
 * allocated with malloc; the caller frees *out with free().
 * Errors: AMI_ERR_INVALID (a NULL argument), AMI_ERR_INJECTION /
 * AMI_ERR_TOO_LONG (a bad action_id), AMI_ERR_TOO_MANY (no room for the
 * ActionID line), AMI_ERR_NOMEM. */
AMI_EXPORT int ami_action_serialize(const ami_action *a, const char *action_id, char **out,
                                    size_t *out_len);

/* ------------------------------------------------------------------------ */
/* Parser                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Incremental, sans-I/O parser of an AMI byte stream. Feed bytes in chunks
 * of any size; take banner and packets out with ami_parser_next().
 * Limits are checked as bytes arrive, before a terminator is seen, and each
 * has its own error code. An error is sticky: every later call returns it,
 * and ami_parser_error_offset() tells the stream offset where it happened.
 */
typedef struct ami_parser ami_parser;

typedef enum ami_parser_flags {
    AMI_PARSER_EXPECT_BANNER = 1 << 0 /* first line is a banner (client side) */
} ami_parser_flags;

#define AMI_PARSER_DEFAULT_MAX_LINE    (1u << 20)  /* 1 MiB */
#define AMI_PARSER_DEFAULT_MAX_HEADERS (1u << 18)  /* 262144 */
#define AMI_PARSER_DEFAULT_MAX_PACKET  (32u << 20) /* 32 MiB */

/* Errors: AMI_ERR_INVALID (out NULL), AMI_ERR_NOMEM. */
AMI_EXPORT int ami_parser_create(ami_parser **out, unsigned flags);
AMI_EXPORT void ami_parser_free(ami_parser *p);

/* Limits; 0 restores the default. Allowed at any time. */
AMI_EXPORT void ami_parser_set_limits(ami_parser *p, size_t max_line, size_t max_headers,
                                      size_t max_packet);

/* Copy `len` bytes into the parser. Returns 0, AMI_ERR_INVALID (p NULL,
 * or data NULL with len > 0), AMI_ERR_NOMEM (the buffer could not grow;
 * not sticky: nothing was taken, the bytes may be fed again) or the
 * sticky error. */
AMI_EXPORT int ami_parser_feed(ami_parser *p, const char *data, size_t len);

/* Zero-copy feeding: get a writable area of at least `min` bytes, read into
 * it, then commit how many bytes were written. Both return 0,
 * AMI_ERR_INVALID (a NULL argument; commit: more than was reserved),
 * AMI_ERR_NOMEM (reserve; not sticky) or the sticky error. */
AMI_EXPORT int ami_parser_reserve(ami_parser *p, size_t min, char **area, size_t *area_len);
AMI_EXPORT int ami_parser_commit(ami_parser *p, size_t n);

/* Next complete item. Returns 1 and sets *out (borrowed: valid until the
 * next call on this parser), 0 when more bytes are needed, AMI_ERR_INVALID
 * (a NULL argument), or the sticky error: AMI_ERR_LINE_LIMIT,
 * AMI_ERR_HEADER_LIMIT, AMI_ERR_PACKET_LIMIT, AMI_ERR_PROTOCOL,
 * AMI_ERR_BAD_BANNER (with AMI_PARSER_EXPECT_BANNER), AMI_ERR_NOMEM. */
AMI_EXPORT int ami_parser_next(ami_parser *p, const ami_packet **out);

/* Bytes fed but not yet returned as packets. */
AMI_EXPORT size_t ami_parser_buffered(const ami_parser *p);

/* Once an error happened: its code (0 if none) and the stream offset of
 * the byte that caused it. ami_strerror() of the code describes it. */
AMI_EXPORT int ami_parser_error(const ami_parser *p);
AMI_EXPORT uint64_t ami_parser_error_offset(const ami_parser *p);

/* Forget all state (buffer, error) as if newly created, keeping limits. */
AMI_EXPORT void ami_parser_reset(ami_parser *p);

/* ------------------------------------------------------------------------ */
/* Results                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * The outcome of one action: the response packet, the events of its
 * EventList, and for Command the output lines (the same for both framings).
 */
typedef struct ami_result ami_result;

/* 0 when the server answered Success (or Goodbye / Follows);
 * AMI_ERR_ACTION_FAILED when it answered Error; otherwise the local reason
 * (AMI_ERR_TIMEOUT, AMI_ERR_DISCONNECTED, AMI_ERR_CANCELLED, ...). */
AMI_EXPORT int ami_result_status(const ami_result *r);
/* The server's Message: when there is one, else a description of the local
 * error; never NULL. */
AMI_EXPORT const char *ami_result_message(const ami_result *r);
/* The response packet, or NULL when none arrived. */
AMI_EXPORT const ami_packet *ami_result_response(const ami_result *r);
/* The ActionID the action was sent with. */
AMI_EXPORT const char *ami_result_action_id(const ami_result *r);
/* Events of an EventList (the final ...Complete event included last). */
AMI_EXPORT size_t ami_result_event_count(const ami_result *r);
AMI_EXPORT const ami_packet *ami_result_event(const ami_result *r, size_t i);
/* 1 when the response opened a list and the list completed. */
AMI_EXPORT int ami_result_is_list(const ami_result *r);
/* Command output lines, in order (blank lines and leading spaces kept). */
AMI_EXPORT size_t ami_result_output_count(const ami_result *r);
AMI_EXPORT const char *ami_result_output_line(const ami_result *r, size_t i, size_t *len);
AMI_EXPORT void ami_result_free(ami_result *r);

/* ------------------------------------------------------------------------ */
/* Session                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * The protocol engine of one connection, without I/O or clock:
 *   - ami_session_send() queues an action's bytes; take them with
 *     ami_session_output() / ami_session_consume() and write them out;
 *   - ami_session_recv() takes bytes read from the server;
 *   - ami_session_tick() expires deadlines (times are in milliseconds on a
 *     monotonic clock of the caller's choice);
 *   - ami_session_disconnected() fails every pending action.
 * Results go to each action's callback exactly once. Events that are not
 * part of a pending list go to the event callback if one is set, else into a
 * bounded queue read with ami_session_next_event(). When that queue is full,
 * ami_session_recv() consumes fewer bytes (back-pressure): the caller stops
 * reading the socket until the application takes events.
 *
 * Calls allowed inside a callback: ami_session_send, ami_session_cancel and
 * all getters. ami_session_recv, ami_session_tick, ami_session_disconnected
 * and ami_session_free return AMI_ERR_STATE (or do nothing) there.
 */
typedef struct ami_session ami_session;

/* Called once per action; owns `result`. */
typedef void (*ami_result_cb)(ami_session *s, ami_result *result, void *user_data);
/* Called for each event (and each response nobody waits for); `event` is
 * borrowed for the duration of the call. */
typedef void (*ami_event_cb)(ami_session *s, const ami_packet *event, void *user_data);

#define AMI_NO_DEADLINE UINT64_MAX

/* Which way bytes went on the wire (see ami_session_set_wire_cb). */
typedef enum ami_wire_dir {
    AMI_WIRE_RECV = 0, /* bytes the server sent, as they were read */
    AMI_WIRE_SEND = 1, /* bytes the client wrote (what the socket took) */
    AMI_WIRE_EOF = 2   /* the server closed the connection (len 0) */
} ami_wire_dir;
/* A tap on the byte stream, for recording sessions (`ami --record`).
 * `data` is borrowed for the call. The callback must not call back into
 * the session or its client. It sees secrets: a Login's Secret and Key go
 * through it unmasked, so whoever stores the bytes must mask them. */
typedef void (*ami_wire_cb)(ami_wire_dir dir, const char *data, size_t len, void *user_data);

/* Errors: AMI_ERR_INVALID (out NULL), AMI_ERR_NOMEM. */
AMI_EXPORT int ami_session_create(ami_session **out);
/* Fails every pending action with AMI_ERR_CANCELLED, then frees. Not
 * inside the session's callbacks (it does nothing there). */
AMI_EXPORT void ami_session_free(ami_session *s);

/* The ActionID prefix (default: derived from the process id and the
 * handle's address, e.g. "ami-1f3a9c-"). IDs are prefix + counter.
 * Errors: AMI_ERR_INVALID, AMI_ERR_TOO_LONG (over 64 bytes),
 * AMI_ERR_INJECTION. */
AMI_EXPORT int ami_session_set_id_prefix(ami_session *s, const char *prefix);
AMI_EXPORT void ami_session_set_event_cb(ami_session *s, ami_event_cb cb, void *user_data);
/* Bound on queued events (default 65536) and on their bytes (default
 * 64 MiB); used only when no event callback is set. */
AMI_EXPORT void ami_session_set_queue_limits(ami_session *s, size_t max_events, size_t max_bytes);
AMI_EXPORT void ami_session_set_parser_limits(ami_session *s, size_t max_line, size_t max_headers,
                                              size_t max_packet);

/* Queue an action. `deadline` is an absolute time (same clock as recv/tick)
 * or AMI_NO_DEADLINE. If the action carries an ActionID header it is used
 * (AMI_ERR_DUPLICATE_ID if one with that ID is pending), else one is
 * assigned. On success the callback will run exactly once; on failure
 * never. `id_out` (may be NULL) receives the ActionID, valid while the
 * action is pending. Errors: AMI_ERR_INVALID (a NULL argument),
 * AMI_ERR_STATE (the session failed or is being freed),
 * AMI_ERR_DUPLICATE_ID, AMI_ERR_INJECTION / AMI_ERR_TOO_LONG /
 * AMI_ERR_TOO_MANY (no room for the ActionID), AMI_ERR_NOMEM; none is
 * fatal. Allowed inside callbacks. */
AMI_EXPORT int ami_session_send(ami_session *s, const ami_action *a, uint64_t deadline,
                                ami_result_cb cb, void *user_data, const char **id_out);
/* Complete a pending action now with AMI_ERR_CANCELLED (its callback runs
 * before this returns). A late response for it counts as unmatched.
 * Errors: AMI_ERR_INVALID (a NULL argument, or not pending). Allowed
 * inside callbacks. */
AMI_EXPORT int ami_session_cancel(ami_session *s, const char *action_id);

/* Bytes waiting to be written (borrowed, valid until the next call). */
AMI_EXPORT void ami_session_output(const ami_session *s, const char **data, size_t *len);
AMI_EXPORT void ami_session_consume(ami_session *s, size_t n);
/* Tap the byte stream: every chunk committed with ami_session_recv(_commit)
 * and every chunk released with ami_session_consume is passed to cb, in
 * order, with the chunking the transport produced. NULL turns it off. */
AMI_EXPORT void ami_session_set_wire_cb(ami_session *s, ami_wire_cb cb, void *user_data);

/* Feed bytes from the server. Returns how many bytes were consumed (less
 * than len when the event queue is full), or an error: AMI_ERR_INVALID,
 * AMI_ERR_STATE (inside a callback or while freeing), AMI_ERR_NOMEM with
 * nothing consumed (not fatal: feed the bytes again), or a fatal one
 * (see "Fatal codes": the parser's errors, AMI_ERR_NOMEM while queueing
 * an event) after which pending actions have completed with it. */
AMI_EXPORT long ami_session_recv(ami_session *s, const char *data, size_t len, uint64_t now);

/* Zero-copy receive, for clients that read straight into the session:
 * reserve a writable area of at least `min` bytes, read() into it, then
 * commit how many bytes arrived. Commit parses what it can; bytes past a
 * full event queue stay buffered (one read at most) and are parsed by the
 * next commit or by ami_session_recv(s, NULL, 0, now).
 * reserve returns AMI_ERR_QUEUE_FULL while paused (do not read then),
 * AMI_ERR_NOMEM (not fatal), AMI_ERR_INVALID, AMI_ERR_STATE, or the
 * session's fatal error; commit returns 0, AMI_ERR_INVALID, AMI_ERR_STATE
 * or a fatal error (as ami_session_recv). Not allowed inside callbacks
 * (AMI_ERR_STATE). */
AMI_EXPORT int ami_session_recv_reserve(ami_session *s, size_t min, char **area, size_t *area_len);
AMI_EXPORT int ami_session_recv_commit(ami_session *s, size_t n, uint64_t now);

/* 1 when the event queue is full and no event callback is set: stop
 * reading the socket until the application takes events, then call
 * ami_session_recv(s, NULL, 0, now) to parse what is already buffered. */
AMI_EXPORT int ami_session_is_paused(const ami_session *s);

/* Expire actions whose deadline <= now (their callbacks run with
 * AMI_ERR_TIMEOUT). Returns how many expired, AMI_ERR_INVALID, or
 * AMI_ERR_STATE inside a callback. */
AMI_EXPORT int ami_session_tick(ami_session *s, uint64_t now);
/* Earliest pending deadline, or AMI_NO_DEADLINE. */
AMI_EXPORT uint64_t ami_session_next_deadline(const ami_session *s);

/* The connection is gone: fail every pending action with `reason`
 * (AMI_ERR_DISCONNECTED if 0) and `message` (may be NULL), reset the
 * parser, drop unsent output, clear a fatal error: the session is ready
 * for a new connection. Queued events stay readable. Does nothing inside
 * a callback. */
AMI_EXPORT void ami_session_disconnected(ami_session *s, int reason, const char *message);

/* Pop the oldest queued event (owned by the caller). Returns 1, or 0 when
 * none is queued (or an argument is NULL). Never fails otherwise. */
AMI_EXPORT int ami_session_next_event(ami_session *s, ami_packet **out);
AMI_EXPORT size_t ami_session_queued_events(const ami_session *s);

/* The banner line once received (NULL before), and its version. */
AMI_EXPORT const char *ami_session_banner(const ami_session *s);
/* Fills what the banner says (0s before it). Returns 0, AMI_ERR_INVALID
 * (s NULL) or AMI_ERR_STATE (no banner yet). */
AMI_EXPORT int ami_session_version(const ami_session *s, int *major, int *minor, int *patch);

AMI_EXPORT size_t ami_session_pending_count(const ami_session *s);
/* Responses whose ActionID matched no pending action (delivered as events). */
AMI_EXPORT uint64_t ami_session_unmatched_count(const ami_session *s);
/* Has the server said Goodbye? */
AMI_EXPORT int ami_session_got_goodbye(const ami_session *s);
/* The fatal error the session failed with (a parser limit or protocol
 * error, AMI_ERR_NOMEM), or 0 while it is usable. Once failed, send and
 * recv return that code until ami_session_disconnected() starts over for a
 * new connection; for the connection itself only closing it makes sense.
 * AMI_ERR_INVALID for NULL. */
AMI_EXPORT int ami_session_failed(const ami_session *s);
/* Last error text of the session (never NULL). */
AMI_EXPORT const char *ami_session_errmsg(const ami_session *s);

#ifdef __cplusplus
}
#endif

#endif /* AMI_AMI_H */
