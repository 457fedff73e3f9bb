/*
 * Login, sans-I/O (login.c), shared by the blocking and the event-loop
 * client: it builds the Challenge and Login actions and checks the answers;
 * each client sends them its own way and describes its own timeouts and
 * disconnects. One implementation, so both clients send the same bytes and
 * accept the same challenges. Never installed.
 */
#ifndef AMI_LOGIN_INTERNAL_H
#define AMI_LOGIN_INTERNAL_H

#include <ami/ami.h>
#include <ami/login.h>

#include <stddef.h>

/* The longest Challenge accepted (Asterisk sends a decimal number). */
#define AMI__CHALLENGE_MAX 256

typedef struct ami__login {
    const char *user;
    const char *secret;
    const char *events; /* the Login's Events: value (NULL: AMI_EVENTS_DEFAULT) */
    unsigned flags;     /* AMI_LOGIN_PLAIN or AMI_LOGIN_MD5 */
    const char *where;  /* "host:port", for messages */
} ami__login;

/* The first action to send: Challenge with AMI_LOGIN_MD5, else Login.
 * Errors: AMI_ERR_NOMEM and the action errors (AMI_ERR_INJECTION, ...),
 * with a message in err. The caller frees *out. */
int ami__login_start(const ami__login *l, ami_action **out, char *err, size_t err_len);

/* 1 when `act` (built by ami__login_start) is the Challenge. */
int ami__login_is_challenge(const ami_action *act);

/* The answer to the Challenge: on success *out is the Login to send.
 * Errors, with a message in err: AMI_ERR_AUTH (refused), AMI_ERR_PROTOCOL
 * (no usable Challenge), AMI_ERR_UNSUPPORTED (no MD5 without OpenSSL),
 * AMI_ERR_NOMEM. Any other status of `r` (a timeout, a disconnect) is
 * returned as is with err untouched: the client describes those. */
int ami__login_on_challenge(const ami__login *l, const ami_result *r, ami_action **out, char *err,
                            size_t err_len);

/* The answer to the Login: 0 when logged in, AMI_ERR_AUTH (refused, with
 * the server's message in err), or the status of `r` as is (err
 * untouched), as ami__login_on_challenge. */
int ami__login_on_login(const ami__login *l, const ami_result *r, char *err, size_t err_len);

#endif /* AMI_LOGIN_INTERNAL_H */
