/*
 * libami event-loop client: the same sans-I/O session as the blocking
 * client, driven by the application's loop instead of poll().
 *
 * The application (or one of the header-only adapters in
 * <ami/adapters/...>) learns what to wait for:
 *   - ami_async_fd()          the socket (-1 while there is none),
 *   - ami_async_events()      AMI_ASYNC_READ / AMI_ASYNC_WRITE wanted,
 *   - ami_async_timeout()     milliseconds until the next deadline (-1: none),
 * and reports what happened with ami_async_process() (or the three
 * ami_async_on_*() shortcuts). The watch callback says when any of the
 * three changed, so an adapter never polls: there is no "call me every
 * second" anywhere.
 *
 * One handle watches one server and keeps it connected: non-blocking
 * connect, banner, login (plain or MD5), keepalive Ping, reconnect with
 * exponential backoff and jitter, re-login with the same Events mask and
 * every Filter added through ami_async_add_filter(). Actions pending when a
 * connection ends fail with AMI_ERR_DISCONNECTED and are never re-sent.
 * After a reconnect the event callback receives a synthetic gap notice
 * (see "Gap notice" below) before any event of the new connection.
 *
 * Host names are resolved with getaddrinfo() when a connection starts,
 * which blocks the loop for as long as the resolver takes; pass a numeric
 * address (or resolve beforehand) where that matters.
 *
 * Calls allowed from inside a callback (result, event, state, watch):
 *
 *   call                              | inside a callback
 *   ----------------------------------+------------------------------------
 *   ami_async_send                    | yes (needs state UP)
 *   ami_async_cancel                  | yes
 *   ami_async_add_filter              | yes
 *   ami_async_logoff, ami_async_stop  | yes (takes effect when it returns)
 *   ami_async_start                   | yes, from the state callback only
 *   ami_async_hold_events             | yes
 *   ami_async_free                    | yes: deferred until the outermost
 *                                     | libami call returns
 *   getters, ami_async_set_*          | yes
 *   ami_async_process, ami_async_on_* | no: AMI_ERR_STATE
 *
 * Errors. Connection problems are never returned by a call: they go to the
 * state callback with a reason, ami_async_errmsg() and ami_async_last_error(),
 * and the handle reconnects (so no code is fatal to the handle; a session
 * that failed is replaced at the next connection). Calls return only
 * misuse (AMI_ERR_INVALID, AMI_ERR_STATE), AMI_ERR_NOMEM and the action
 * errors, as listed with each. The setters that return void accept any
 * value (out-of-range values become the defaults) and NULL handles.
 *
 * Threads: one handle, one thread at a time. Several handles (one per
 * server) may share one loop; they are independent.
 */
#ifndef AMI_ASYNC_H
#define AMI_ASYNC_H

#include <ami/ami.h>
#include <ami/login.h>
#include <ami/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ami_async ami_async;

/* What the handle waits for; also the `events` of ami_async_process(). */
#define AMI_ASYNC_READ  1u
#define AMI_ASYNC_WRITE 2u
/* Only in a watch callback: the handle is being freed; stop every watcher
 * and release the adapter's state. No call on the handle is allowed then. */
#define AMI_ASYNC_FREED 4u

typedef enum ami_async_state {
    AMI_ASYNC_IDLE = 0,     /* created, not started */
    AMI_ASYNC_CONNECTING,   /* TCP connect, then waiting for the banner */
    AMI_ASYNC_LOGGING_IN,   /* Challenge / Login / Filters / Events */
    AMI_ASYNC_UP,           /* logged in: actions may be sent */
    AMI_ASYNC_DISCONNECTED, /* connection lost; a reconnect is scheduled */
    AMI_ASYNC_STOPPED       /* no connection and no retry (see reason) */
} ami_async_state;

/* Why the state changed. */
typedef enum ami_async_reason {
    AMI_ASYNC_REASON_NONE = 0, /* progress (connecting, logging in, up) */
    AMI_ASYNC_REASON_GOODBYE,  /* the server answered Response: Goodbye */
    AMI_ASYNC_REASON_SHUTDOWN, /* the server sent Event: Shutdown */
    AMI_ASYNC_REASON_EOF,      /* the server closed the connection */
    AMI_ASYNC_REASON_TIMEOUT,  /* connect, banner, login or keepalive deadline */
    AMI_ASYNC_REASON_AUTH,     /* login refused (stops retrying by default) */
    AMI_ASYNC_REASON_CONNECT,  /* resolve or connect failed (refused, ...) */
    AMI_ASYNC_REASON_IO,       /* a read or write failed */
    AMI_ASYNC_REASON_PROTOCOL, /* not an AMI server, or a broken stream */
    AMI_ASYNC_REASON_STOPPED,  /* the application called stop or logoff */
    AMI_ASYNC_REASON_NOMEM     /* out of memory (no retry) */
} ami_async_reason;

/* Called once per submitted action; owns `result` (ami_result_free). */
typedef void (*ami_async_result_cb)(ami_async *a, ami_result *result, void *user_data);
/* Each event (and each response nobody waits for); `event` is borrowed for
 * the duration of the call (ami_packet_dup keeps one). */
typedef void (*ami_async_event_cb)(ami_async *a, const ami_packet *event, void *user_data);
/* Every state change, with its reason; ami_async_errmsg() has the details. */
typedef void (*ami_async_state_cb)(ami_async *a, ami_async_state state, ami_async_reason reason,
                                   void *user_data);
/* The fd, the wanted events or the timeout changed (or AMI_ASYNC_FREED).
 * `fd` is -1 when there is no socket: stop watching the old one *before*
 * this returns, because libami closes it right after. `timeout_ms` is
 * relative to now, -1 for none. */
typedef void (*ami_async_watch_cb)(ami_async *a, int fd, unsigned events, int timeout_ms,
                                   void *user_data);

/* ------------------------------------------------------------ lifetime */

/* Errors: AMI_ERR_INVALID, AMI_ERR_NOMEM. */
AMI_EXPORT int ami_async_create(ami_async **out);
/* Closes the connection (pending actions fail with AMI_ERR_CANCELLED),
 * calls the watch callback with AMI_ASYNC_FREED, frees. Accepts NULL.
 * Inside a callback the free happens when the outermost call returns. */
AMI_EXPORT void ami_async_free(ami_async *a);

/* ------------------------------------------------- configuration setters */

/* Server to connect to: name, IPv4 or IPv6 literal (brackets allowed).
 * Errors: AMI_ERR_INVALID (NULL or empty host, port 0 or > 65535),
 * AMI_ERR_NOMEM. Applies to the next connection. */
AMI_EXPORT int ami_async_set_server(ami_async *a, const char *host, unsigned port);
/* Use TLS from the next connection (copied; NULL turns TLS off). See
 * <ami/tls.h>. Errors: AMI_ERR_INVALID, AMI_ERR_UNSUPPORTED (built without
 * OpenSSL), AMI_ERR_NOMEM; on error the previous setting stays. The handshake
 * is part of CONNECTING and of the connect timeout; a failure is reason
 * CONNECT, and a certificate that does not verify (AMI_ERR_TLS_VERIFY,
 * named in ami_async_errmsg) stops the handle instead of retrying. */
AMI_EXPORT int ami_async_set_tls(ami_async *a, const ami_tls_config *cfg);
/* Credentials (copied) and AMI_LOGIN_PLAIN or AMI_LOGIN_MD5. Applies from
 * the next login. Errors: AMI_ERR_INVALID (NULL, or unknown flags),
 * AMI_ERR_INJECTION (CR, LF or NUL), AMI_ERR_NOMEM. */
AMI_EXPORT int ami_async_set_login(ami_async *a, const char *username, const char *secret,
                                   unsigned flags);
/* The Events: mask sent at every login ("on", "off", "call,system", ...;
 * NULL: AMI_EVENTS_DEFAULT, "on", as in ami_client_login). Applies from the
 * next login. Errors: AMI_ERR_INVALID, AMI_ERR_INJECTION, AMI_ERR_NOMEM. */
AMI_EXPORT int ami_async_set_events(ami_async *a, const char *mask);

/* Tap every byte read and written (and AMI_WIRE_EOF when the server
 * closes) on this handle's connections, reconnects included; see
 * ami_wire_cb in ami.h. NULL turns it off. */
AMI_EXPORT void ami_async_set_wire_cb(ami_async *a, ami_wire_cb cb, void *user_data);
AMI_EXPORT void ami_async_set_event_cb(ami_async *a, ami_async_event_cb cb, void *user_data);
AMI_EXPORT void ami_async_set_state_cb(ami_async *a, ami_async_state_cb cb, void *user_data);
/* The watch callback is called at once with the current fd/events/timeout. */
AMI_EXPORT void ami_async_set_watch_cb(ami_async *a, ami_async_watch_cb cb, void *user_data);

/* Deadline for TCP connect + banner, and for the whole login (defaults
 * 5000 and 5000 ms). */
AMI_EXPORT void ami_async_set_timeouts(ami_async *a, int connect_ms, int login_ms);

/* Reconnect after a lost connection or a failed attempt: the n-th retry
 * waits min(max_ms, initial_ms * 2^n) with the upper half randomised
 * ("equal jitter"). Defaults: on, 500 ms, 30000 ms. A refused login stops
 * retrying unless `retry_auth` is set. enabled == 0: stop after the first
 * loss. */
AMI_EXPORT void ami_async_set_reconnect(ami_async *a, int enabled, int initial_ms, int max_ms,
                                        int retry_auth);

/* Send Ping after `interval_ms` without any byte from the server; no answer
 * within `timeout_ms` means the peer is dead: the connection is dropped
 * (reason TIMEOUT) and reconnected. Both 0 (the default) turn it off.
 * A dead peer is thus noticed within interval_ms + timeout_ms. While
 * reading is paused by back-pressure no verdict is reached (the lateness is
 * ours, not the server's). */
AMI_EXPORT void ami_async_set_keepalive(ami_async *a, int interval_ms, int timeout_ms);

/*
 * Back-pressure. Received events wait in a bounded queue (default 65536
 * events or 64 MiB) until they are delivered to the event callback.
 * Reading the socket never waits for the application: each readiness
 * reads what the socket has, then delivers events for at most
 * `budget_ms` (default 5 ms; 0: one event) and returns, leaving the rest
 * for an immediate timeout (ami_async_timeout() == 0), so a slow handler
 * delays delivery, never reading.
 *
 * Policy when the queue is full: reading pauses (the socket is no longer
 * watched for reading) until the application has caught up; nothing is
 * dropped, the server eventually sees a full socket.
 * ami_async_stats_get() tells how far behind the application is.
 */
AMI_EXPORT void ami_async_set_queue(ami_async *a, size_t max_events, size_t max_bytes,
                                    int budget_ms);
/* hold != 0: stop delivering events (they queue, then reading pauses);
 * hold == 0: resume. */
AMI_EXPORT void ami_async_hold_events(ami_async *a, int hold);

typedef struct ami_async_stats {
    size_t queued;         /* events waiting for delivery now */
    size_t max_queued;     /* the most that ever waited */
    uint64_t paused_count; /* times reading paused on a full queue */
    uint64_t paused_ms;    /* total time reading was paused */
    int paused;            /* paused right now */
    uint64_t events;       /* events delivered */
    uint64_t connects;     /* successful logins */
    uint64_t disconnects;  /* connections lost after login */
    uint64_t gaps;         /* gap notices delivered */
} ami_async_stats;
AMI_EXPORT void ami_async_stats_get(const ami_async *a, ami_async_stats *out);

/* --------------------------------------------------------------- control */

/* Start connecting (from IDLE or STOPPED). Errors: AMI_ERR_INVALID (no
 * server or login set; or no event callback while the events mask is not
 * "off": events would be lost unseen, so set one with
 * ami_async_set_event_cb or call ami_async_set_events(a, "off")),
 * AMI_ERR_STATE (already running). Allowed in the state callback. */
AMI_EXPORT int ami_async_start(ami_async *a);
/* Send Logoff; on Goodbye (or after the login timeout) close and go to
 * STOPPED with reason GOODBYE / STOPPED. Errors: AMI_ERR_INVALID,
 * AMI_ERR_STATE (not UP, or already logging off), AMI_ERR_NOMEM. */
AMI_EXPORT int ami_async_logoff(ami_async *a);
/* Close now (pending actions fail with AMI_ERR_DISCONNECTED) and go to
 * STOPPED without retrying. */
AMI_EXPORT void ami_async_stop(ami_async *a);

/* Submit an action. `timeout_ms` (-1: none) bounds the wait for its whole
 * result. On success `cb` (may be NULL) runs exactly once: with the result,
 * a server error, AMI_ERR_TIMEOUT, AMI_ERR_DISCONNECTED when the connection
 * ends first, AMI_ERR_CANCELLED after ami_async_cancel or when the handle
 * is freed. On failure it never runs. `id_out` (may be NULL) receives the
 * ActionID, valid while the action is pending (as ami_session_send).
 * Errors: AMI_ERR_INVALID, AMI_ERR_STATE (not UP), AMI_ERR_NOMEM,
 * AMI_ERR_DUPLICATE_ID and the action errors. */
AMI_EXPORT int ami_async_send(ami_async *a, const ami_action *action, int timeout_ms,
                              ami_async_result_cb cb, void *user_data, const char **id_out);

/* Complete a pending action now: its callback runs before this returns,
 * with AMI_ERR_CANCELLED (as ami_session_cancel). A late response for it
 * counts as unmatched. Errors: AMI_ERR_INVALID (NULL argument, or
 * `action_id` is not an application action that is pending: the handle's
 * own Login, Challenge and keepalive actions cannot be cancelled).
 * Allowed inside callbacks. */
AMI_EXPORT int ami_async_cancel(ami_async *a, const char *action_id);

/* Add an event filter (Filter action, Operation: Add, the value as Asterisk
 * takes it: a regex, "!regex" to exclude). Sent now when UP (`cb` gets the
 * answer, like ami_async_send) and again after every reconnect, before
 * events are switched on. Errors: AMI_ERR_INVALID (NULL or empty),
 * AMI_ERR_INJECTION, AMI_ERR_STATE (a callback given while not UP: add
 * filters for later with cb NULL), AMI_ERR_NOMEM, and when UP the errors
 * of ami_async_send. */
AMI_EXPORT int ami_async_add_filter(ami_async *a, const char *filter, ami_async_result_cb cb,
                                    void *user_data);

/* ---------------------------------------------------------- event loop */

/* The socket to watch, -1 while there is none. */
AMI_EXPORT int ami_async_fd(const ami_async *a);
AMI_EXPORT unsigned ami_async_events(const ami_async *a);
/* Milliseconds until ami_async_process(a, 0) must be called, -1: never. */
AMI_EXPORT int ami_async_timeout(const ami_async *a);
/* The same as an absolute time on ami_async_now()'s clock, or
 * AMI_NO_DEADLINE. */
AMI_EXPORT uint64_t ami_async_deadline(const ami_async *a);
/* Milliseconds on the monotonic clock libami uses. */
AMI_EXPORT uint64_t ami_async_now(void);

/* Report readiness (AMI_ASYNC_READ / AMI_ASYNC_WRITE, or 0 for "a timer
 * fired"). Deadlines that passed are always handled, whatever `events`
 * says. Returns 0, or AMI_ERR_STATE inside a callback, AMI_ERR_INVALID
 * (a NULL or freed handle). Connection problems are not errors here: they
 * go to the state callback. The three shortcuts return the same. */
AMI_EXPORT int ami_async_process(ami_async *a, unsigned events);
AMI_EXPORT int ami_async_on_readable(ami_async *a);
AMI_EXPORT int ami_async_on_writable(ami_async *a);
AMI_EXPORT int ami_async_on_timeout(ami_async *a);

/* ------------------------------------------------------------- getters */

AMI_EXPORT ami_async_state ami_async_get_state(const ami_async *a);
/* Static names: "UP", "EOF", ... */
AMI_EXPORT const char *ami_async_state_name(ami_async_state s);
AMI_EXPORT const char *ami_async_reason_name(ami_async_reason r);
/* The last problem, in words (never NULL; secrets never appear). */
AMI_EXPORT const char *ami_async_errmsg(const ami_async *a);
/* The ami_error code behind the last lost connection or failed attempt
 * (e.g. AMI_ERR_REFUSED, AMI_ERR_AUTH, AMI_ERR_TLS_VERIFY, AMI_ERR_TIMEOUT),
 * 0 before any failure; lets callers act on the cause without parsing
 * ami_async_errmsg(). */
AMI_EXPORT int ami_async_last_error(const ami_async *a);
/* "host:port" as given to ami_async_set_server ("" before). */
AMI_EXPORT const char *ami_async_server(const ami_async *a);
/* The session of the current connection (borrowed; replaced at every
 * reconnect), NULL when not connected. */
AMI_EXPORT ami_session *ami_async_session(ami_async *a);
/* Application pointer, free for any use (adapters keep theirs in the
 * watch callback's user_data). */
AMI_EXPORT void ami_async_set_data(ami_async *a, void *data);
AMI_EXPORT void *ami_async_get_data(const ami_async *a);

/*
 * Gap notice. After a reconnect, before any event of the new connection
 * (and after every event received on the old one), the event callback
 * gets a synthetic packet:
 *
 *   Event: AmiGap
 *   Server: host:port
 *   Reason: EOF                       (ami_async_reason_name of the loss)
 *   Message: connection to ... closed  (ami_async_errmsg at the loss)
 *   DisconnectedAt: 1700000000.123    (wall clock, seconds.milliseconds)
 *   ReconnectedAt: 1700000002.456
 *   GapMs: 2333                       (monotonic milliseconds between them)
 *   Attempts: 3                       (connection attempts it took)
 *
 * Events were missed between the two times: resynchronise (e.g. with
 * CoreShowChannels). The packet is borrowed like any other event.
 */
#define AMI_ASYNC_GAP_EVENT "AmiGap"

#ifdef __cplusplus
}
#endif

#endif /* AMI_ASYNC_H */
