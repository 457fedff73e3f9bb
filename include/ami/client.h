/*
 * libami blocking client: a poll() loop over the sans-I/O session.
 *
 * Every call that waits takes a timeout in milliseconds (-1: no limit).
 * Events that arrive while a call waits are queued (or handed to the event
 * callback) and read with ami_client_next_event(). Every failing call leaves
 * a message a person can act on in ami_client_errmsg(): the host:port, the
 * server's Message:, the system error text. Secrets never appear in it.
 */
#ifndef AMI_CLIENT_H
#define AMI_CLIENT_H

#include <ami/ami.h>
#include <ami/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ami_client ami_client;

typedef enum ami_login_flags {
    AMI_LOGIN_PLAIN = 0,
    AMI_LOGIN_MD5 = 1 << 0 /* Challenge + AuthType: MD5 + Key */
} ami_login_flags;

AMI_EXPORT int ami_client_create(ami_client **out);
/* Closes the connection (pending actions fail) and frees. */
AMI_EXPORT void ami_client_free(ami_client *c);

/* Connect to `host` (name, IPv4 or IPv6 literal, optionally in brackets)
 * on `port`, trying every address the name resolves to, then wait for the
 * banner. Errors: AMI_ERR_RESOLVE, AMI_ERR_REFUSED, AMI_ERR_CONNECT,
 * AMI_ERR_TIMEOUT, AMI_ERR_EOF_BANNER, AMI_ERR_BAD_BANNER. */
AMI_EXPORT int ami_client_connect(ami_client *c, const char *host, unsigned port, int timeout_ms);

/* Use TLS for the next connections (copied; NULL turns TLS off). Errors:
 * AMI_ERR_UNSUPPORTED without OpenSSL, AMI_ERR_NOMEM. A certificate that
 * does not verify makes connect fail with AMI_ERR_TLS_VERIFY. */
AMI_EXPORT int ami_client_set_tls(ami_client *c, const ami_tls_config *cfg);

/* Log in. `events` is the Events: value ("on", "off", "call,system", ...) or
 * NULL for "off". With AMI_LOGIN_MD5 a Challenge is sent first and Key is
 * md5hex(challenge + secret) (AMI_ERR_UNSUPPORTED if built without OpenSSL).
 * A refused login gives AMI_ERR_AUTH with the server's message. */
AMI_EXPORT int ami_client_login(ami_client *c, const char *username, const char *secret,
                                unsigned flags, const char *events, int timeout_ms);

/* Send an action and wait for its result (owned by the caller, free with
 * ami_result_free). Returns the result's status: 0, AMI_ERR_ACTION_FAILED
 * (result still returned, with the server's message) or a local error (a
 * result is still returned when one exists, else *out is NULL). */
AMI_EXPORT int ami_client_call(ami_client *c, const ami_action *a, int timeout_ms,
                               ami_result **out);

/* Wait for the next event (owned by the caller, free with ami_packet_free).
 * Returns 1 with an event, 0 on timeout, or a negative error
 * (AMI_ERR_DISCONNECTED / AMI_ERR_CLOSED when the connection ended). */
AMI_EXPORT int ami_client_next_event(ami_client *c, int timeout_ms, ami_packet **out);

/* Deliver events to a callback instead of the queue (borrowed packets),
 * called from inside ami_client_call / ami_client_next_event. */
AMI_EXPORT void ami_client_set_event_cb(ami_client *c, ami_event_cb cb, void *user_data);

/* Tap every byte read and written on this client's connections (and an
 * AMI_WIRE_EOF when the server closes), for recording a session; see
 * ami_wire_cb in ami.h. Set it before ami_client_connect to see the
 * banner. NULL turns it off. */
AMI_EXPORT void ami_client_set_wire_cb(ami_client *c, ami_wire_cb cb, void *user_data);
/* Send Logoff and wait for Response: Goodbye, then close. */
AMI_EXPORT int ami_client_logoff(ami_client *c, int timeout_ms);

/* Close the socket; pending actions fail with AMI_ERR_DISCONNECTED. */
AMI_EXPORT void ami_client_close(ami_client *c);

AMI_EXPORT const char *ami_client_errmsg(const ami_client *c);
/* The underlying session (borrowed), e.g. for its banner or counters.
 * Valid until the next ami_client_connect (a reconnect starts a fresh
 * session) or ami_client_free. */
AMI_EXPORT ami_session *ami_client_session(ami_client *c);
AMI_EXPORT int ami_client_fd(const ami_client *c);

/* md5hex(challenge + secret) into out[33]; AMI_ERR_UNSUPPORTED without
 * OpenSSL. */
AMI_EXPORT int ami_md5_key(const char *challenge, const char *secret, char out[33]);

#ifdef __cplusplus
}
#endif

#endif /* AMI_CLIENT_H */
