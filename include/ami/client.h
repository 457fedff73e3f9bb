/*
 * libami blocking client: a poll() loop over the sans-I/O session.
 *
 * Every call that waits takes a timeout in milliseconds (-1: no limit).
 * Events that arrive while a call waits are queued (or handed to the event
 * callback) and read with ami_client_next_event(). Every failing call leaves
 * a message a person can act on in ami_client_errmsg(): the host:port, the
 * server's Message:, the system error text. Secrets never appear in it.
 *
 * Errors every waiting call (connect, login, call, next_event, logoff) may
 * return besides those listed with it: AMI_ERR_INVALID (a NULL argument),
 * AMI_ERR_STATE (inside the event callback, or not connected yet),
 * AMI_ERR_NOMEM. Codes that end the connection (AMI_ERR_DISCONNECTED,
 * AMI_ERR_CLOSED after Goodbye, AMI_ERR_IO, AMI_ERR_TLS, and the session's
 * fatal codes: AMI_ERR_LINE_LIMIT, AMI_ERR_HEADER_LIMIT,
 * AMI_ERR_PACKET_LIMIT, AMI_ERR_PROTOCOL) are fatal to that connection:
 * every later call returns the same code until ami_client_connect makes a
 * new one (ami_client_fd() is -1 meanwhile). The others (AMI_ERR_TIMEOUT of
 * a call, AMI_ERR_ACTION_FAILED, AMI_ERR_INJECTION, ...) leave the
 * connection usable.
 *
 * Inside the event callback (ami_client_set_event_cb) only
 * ami_client_close (deferred until the callback returns), the getters and
 * the pure functions are allowed; the waiting calls return AMI_ERR_STATE.
 */
#ifndef AMI_CLIENT_H
#define AMI_CLIENT_H

#include <ami/ami.h>
#include <ami/login.h>
#include <ami/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ami_client ami_client;

/* Errors: AMI_ERR_INVALID (out NULL), AMI_ERR_NOMEM. */
AMI_EXPORT int ami_client_create(ami_client **out);
/* Closes the connection (pending actions fail) and frees. Accepts NULL.
 * Not inside the event callback. */
AMI_EXPORT void ami_client_free(ami_client *c);

/* Connect to `host` (name, IPv4 or IPv6 literal, optionally in brackets)
 * on `port`, trying every address the name resolves to, then wait for the
 * banner. Errors: AMI_ERR_INVALID (NULL host, port 0 or > 65535),
 * AMI_ERR_STATE (already connected: close first; or inside the callback),
 * AMI_ERR_NOMEM, AMI_ERR_RESOLVE, AMI_ERR_REFUSED, AMI_ERR_CONNECT,
 * AMI_ERR_TIMEOUT, AMI_ERR_EOF_BANNER, AMI_ERR_BAD_BANNER, and with TLS
 * AMI_ERR_TLS, AMI_ERR_TLS_VERIFY. A failed connect leaves no connection;
 * connect may be called again. */
AMI_EXPORT int ami_client_connect(ami_client *c, const char *host, unsigned port, int timeout_ms);

/* Use TLS for the next connections (copied; NULL turns TLS off). Errors:
 * AMI_ERR_INVALID (c NULL), AMI_ERR_UNSUPPORTED without OpenSSL,
 * AMI_ERR_NOMEM; on error the previous setting stays. A certificate that
 * does not verify makes connect fail with AMI_ERR_TLS_VERIFY. Allowed at
 * any time, the callback included; a live connection keeps its TLS. */
AMI_EXPORT int ami_client_set_tls(ami_client *c, const ami_tls_config *cfg);

/* Log in. `events` is the Events: value ("on", "off", "call,system", ...) or
 * NULL for AMI_EVENTS_DEFAULT ("on", Asterisk's own default). With
 * AMI_LOGIN_MD5 a Challenge is sent first and Key is md5hex(challenge +
 * secret). Errors (besides the common ones above): AMI_ERR_AUTH (refused,
 * with the server's message; the connection stays up, Asterisk usually
 * closes it), AMI_ERR_UNSUPPORTED (MD5 without OpenSSL), AMI_ERR_PROTOCOL
 * (a Challenge answer without a usable challenge), AMI_ERR_TIMEOUT,
 * AMI_ERR_INJECTION (CR/LF/NUL in a value: nothing is sent), the
 * connection-ending codes. */
AMI_EXPORT int ami_client_login(ami_client *c, const char *username, const char *secret,
                                unsigned flags, const char *events, int timeout_ms);

/* Send an action and wait for its result (owned by the caller, free with
 * ami_result_free). Returns the result's status: 0, AMI_ERR_ACTION_FAILED
 * (result still returned, with the server's message) or a local error (a
 * result is still returned when one exists, else *out is NULL): the
 * common errors, AMI_ERR_TIMEOUT (the action is cancelled; its late
 * response counts as unmatched), AMI_ERR_QUEUE_FULL (the event queue
 * filled while waiting: take events), AMI_ERR_DUPLICATE_ID, the action
 * errors (AMI_ERR_INJECTION, AMI_ERR_TOO_LONG, AMI_ERR_TOO_MANY), and the
 * connection-ending codes. */
AMI_EXPORT int ami_client_call(ami_client *c, const ami_action *a, int timeout_ms,
                               ami_result **out);

/* Wait for the next event (owned by the caller, free with ami_packet_free).
 * Returns 1 with an event, 0 on timeout, or a negative error: the common
 * ones and the connection-ending codes. Events received before the
 * connection ended are returned first, even after it ended. */
AMI_EXPORT int ami_client_next_event(ami_client *c, int timeout_ms, ami_packet **out);

/* Deliver events to a callback instead of the queue (borrowed packets),
 * called from inside the waiting calls. NULL restores the queue. */
AMI_EXPORT void ami_client_set_event_cb(ami_client *c, ami_event_cb cb, void *user_data);

/* Tap every byte read and written on this client's connections (and an
 * AMI_WIRE_EOF when the server closes), for recording a session; see
 * ami_wire_cb in ami.h. Set it before ami_client_connect to see the
 * banner. NULL turns it off. */
AMI_EXPORT void ami_client_set_wire_cb(ami_client *c, ami_wire_cb cb, void *user_data);
/* Send Logoff and wait for Response: Goodbye, then close (whatever the
 * answer). Errors: the common ones, AMI_ERR_TIMEOUT, AMI_ERR_PROTOCOL (an
 * answer without Goodbye), the connection-ending codes. */
AMI_EXPORT int ami_client_logoff(ami_client *c, int timeout_ms);

/* Close the socket; pending actions fail with AMI_ERR_DISCONNECTED. Inside
 * the event callback the close happens when the callback returns. */
AMI_EXPORT void ami_client_close(ami_client *c);

/* The last failure in words (never NULL; never a secret). */
AMI_EXPORT const char *ami_client_errmsg(const ami_client *c);
/* The underlying session (borrowed), e.g. for its banner or counters.
 * Valid until the next ami_client_connect (a reconnect starts a fresh
 * session) or ami_client_free. */
AMI_EXPORT ami_session *ami_client_session(ami_client *c);
/* The socket, -1 when there is no live connection. */
AMI_EXPORT int ami_client_fd(const ami_client *c);

#ifdef __cplusplus
}
#endif

#endif /* AMI_CLIENT_H */
