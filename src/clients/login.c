/*
 * The login conversation of both clients, without I/O: Challenge (for MD5)
 * then Login. The clients decide when to send and how long to wait; this
 * file decides what is sent and what an answer means.
 */
#include "login.h"

#include <stdio.h>
#include <string.h>

static const char *events_of(const ami__login *l)
{
    return l->events ? l->events : AMI_EVENTS_DEFAULT;
}

static int build_failed(const char *name, int rc, ami_action *act, char *err, size_t err_len)
{
    ami_action_free(act);
    snprintf(err, err_len, "cannot build %s: %s", name, ami_strerror(rc));
    return rc;
}

/* Login with the secret (plain) or the key (MD5). */
static int build_login(const ami__login *l, const char *key, ami_action **out, char *err,
                       size_t err_len)
{
    ami_action *act = NULL;
    int rc = ami_action_create(&act, "Login");
    if (rc == 0 && key)
        rc = ami_action_add(act, "AuthType", "MD5");
    if (rc == 0)
        rc = ami_action_add(act, "Username", l->user);
    if (rc == 0)
        rc = key ? ami_action_add(act, "Key", key) : ami_action_add(act, "Secret", l->secret);
    if (rc == 0)
        rc = ami_action_add(act, "Events", events_of(l));
    if (rc != 0)
        return build_failed("Login", rc, act, err, err_len);
    *out = act;
    return 0;
}

int ami__login_start(const ami__login *l, ami_action **out, char *err, size_t err_len)
{
    *out = NULL;
    if (!(l->flags & AMI_LOGIN_MD5))
        return build_login(l, NULL, out, err, err_len);
    ami_action *act = NULL;
    int rc = ami_action_create(&act, "Challenge");
    if (rc == 0)
        rc = ami_action_add(act, "AuthType", "MD5");
    if (rc != 0)
        return build_failed("Challenge", rc, act, err, err_len);
    *out = act;
    return 0;
}

int ami__login_is_challenge(const ami_action *act)
{
    return strcmp(ami_action_name(act), "Challenge") == 0;
}

int ami__login_on_challenge(const ami__login *l, const ami_result *r, ami_action **out, char *err,
                            size_t err_len)
{
    *out = NULL;
    int st = ami_result_status(r);
    if (st == AMI_ERR_ACTION_FAILED) {
        snprintf(err, err_len, "MD5 challenge refused by %s for user '%s': %s", l->where, l->user,
                 ami_result_message(r));
        return AMI_ERR_AUTH;
    }
    if (st != 0)
        return st;
    const char *ch = ami_packet_get(ami_result_response(r), "Challenge");
    if (!ch || !*ch || strlen(ch) > AMI__CHALLENGE_MAX) {
        snprintf(err, err_len, "the Challenge response from %s carries no usable Challenge",
                 l->where);
        return AMI_ERR_PROTOCOL;
    }
    char key[33];
    int rc = ami_md5_key(ch, l->secret, key);
    if (rc != 0) {
        snprintf(err, err_len, "cannot compute the MD5 key: %s", ami_strerror(rc));
        return rc;
    }
    rc = build_login(l, key, out, err, err_len);
    memset(key, 0, sizeof key);
    return rc;
}

int ami__login_on_login(const ami__login *l, const ami_result *r, char *err, size_t err_len)
{
    int st = ami_result_status(r);
    if (st == AMI_ERR_ACTION_FAILED) {
        snprintf(err, err_len, "authentication failed for user '%s' on %s: %s", l->user, l->where,
                 ami_result_message(r));
        return AMI_ERR_AUTH;
    }
    return st;
}
