/*
 * Login options shared by the blocking client (<ami/client.h>) and the
 * event-loop client (<ami/async.h>), so that neither header has to
 * include the other.
 */
#ifndef AMI_LOGIN_H
#define AMI_LOGIN_H

#include <ami/ami.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How ami_client_login / ami_async_set_login authenticate. */
typedef enum ami_login_flags {
    AMI_LOGIN_PLAIN = 0,
    AMI_LOGIN_MD5 = 1 << 0 /* Challenge + AuthType: MD5 + Key */
} ami_login_flags;

/* The Events: value both clients send when the caller passes NULL:
 * "on", which is what Asterisk itself does for a Login without an Events
 * header (every event class the user's `read` permission allows). */
#define AMI_EVENTS_DEFAULT "on"

/* md5hex(challenge + secret) into out[33] (32 lower-case hex digits and a
 * NUL). Errors: AMI_ERR_INVALID (a NULL argument), AMI_ERR_UNSUPPORTED
 * (built without OpenSSL). Pure function: callable anywhere, callbacks
 * included. */
AMI_EXPORT int ami_md5_key(const char *challenge, const char *secret, char out[33]);

#ifdef __cplusplus
}
#endif

#endif /* AMI_LOGIN_H */
