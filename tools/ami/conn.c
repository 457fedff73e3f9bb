/* Connection setup and error reporting shared by action, cli and events. */
#include "conn.h"
#include "record.h"
#include "secret.h"
#include "servers.h"
#include "tlsopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tool_conn_settle(tool_opts *o)
{
    int rc = tool_servers_settle(o);
    if (rc)
        return rc;
    if (!o->user)
        o->user = getenv("AMI_USER");
    if (!o->user || !*o->user) {
        tool_err("no AMI user given — pass -u USER or set AMI_USER");
        return TOOL_EXIT_USAGE;
    }
    return 0;
}

int tool_conn_settle_tls(tool_opts *o, ami_tls_config **tls)
{
    *tls = NULL;
    int rc = tool_conn_settle(o);
    return rc ? rc : tool_tls_config(o, tls);
}

const char *tool_conn_where(const tool_opts *o)
{
    static char where[300];
    if (strchr(o->host, ':'))
        snprintf(where, sizeof(where), "[%s]:%u", o->host, o->port);
    else
        snprintf(where, sizeof(where), "%s:%u", o->host, o->port);
    return where;
}

static const char *timeout_text(const tool_opts *o)
{
    static char t[64];
    snprintf(t, sizeof(t), "%gs", o->timeout_sec);
    return t;
}

/* libami's messages name the host and the step and give no API advice;
 * the tool adds what to do about it, in terms of its options. */
static const char *detail(ami_client *c, int rc)
{
    const char *msg = c ? ami_client_errmsg(c) : NULL;
    return msg && *msg ? msg : ami_strerror(rc);
}

static int connect_failed(tool_opts *o, ami_client *c, int rc)
{
    const char *msg = detail(c, rc);
    switch (rc) {
    case AMI_ERR_RESOLVE:
        tool_err("%s — check -H or AMI_HOST", msg);
        break;
    case AMI_ERR_TIMEOUT:
        /* A TLS port says nothing until the client speaks: the silence
         * of a plain client there looks like a slow server. */
        tool_err("%s (--timeout %s) — check -H/-p (Asterisk's AMI port is 5038%s) or raise "
                 "--timeout",
                 msg, timeout_text(o),
                 o->tls ? "" : "; for AMI over TLS, such as port 5039, add --tls");
        break;
    case AMI_ERR_BAD_BANNER:
    case AMI_ERR_EOF_BANNER:
        tool_err("%s — check -H/-p (Asterisk's AMI port is 5038)", msg);
        break;
    case AMI_ERR_TLS_VERIFY:
        tool_tls_verify_err("", msg, "");
        break;
    case AMI_ERR_TLS:
        tool_err("%s — is %s a TLS port (AMI over TLS is usually 5039)? check -H/-p and --tls", msg,
                 tool_conn_where(o));
        break;
    case AMI_ERR_REFUSED:
        tool_err("cannot connect to %s: connection refused — is Asterisk (or ami-sim) running? "
                 "check -H/-p",
                 tool_conn_where(o));
        break;
    default:
        tool_err("%s — is Asterisk (or ami-sim) running? check -H/-p", msg);
        break;
    }
    return tool_exit_for(rc);
}

static int login_failed(tool_opts *o, ami_client *c, int rc)
{
    const char *msg = detail(c, rc);
    switch (rc) {
    case AMI_ERR_AUTH:
        tool_err("%s — check -u/AMI_USER and the secret (AMI_SECRET or --secret-file)%s", msg,
                 o->md5 ? "" : "; try --md5 if plain login is disabled");
        break;
    case AMI_ERR_TIMEOUT:
        tool_err("login as '%s': %s (--timeout %s) — raise --timeout or check the server", o->user,
                 msg, timeout_text(o));
        break;
    case AMI_ERR_UNSUPPORTED:
        tool_err("--md5 is not available: this libami was built without OpenSSL — log in "
                 "without --md5");
        break;
    case AMI_ERR_INJECTION:
    case AMI_ERR_BAD_KEY:
    case AMI_ERR_TOO_LONG:
        tool_err("the user name or secret was refused before sending: %s — check -u and the "
                 "secret",
                 ami_strerror(rc));
        break;
    default:
        tool_err("login as '%s' on %s failed: %s — check the server", o->user, tool_conn_where(o),
                 msg);
        break;
    }
    return tool_exit_for(rc);
}

int tool_conn_open(tool_opts *o, const char *events, ami_client **out)
{
    return tool_conn_open_rec(o, events, NULL, out);
}

int tool_conn_open_rec(tool_opts *o, const char *events, tool_record *rec, ami_client **out)
{
    *out = NULL;
    ami_tls_config *tls = NULL;
    int rc = tool_tls_config(o, &tls);
    if (rc)
        return rc;
    char secret[TOOL_SECRET_MAX];
    rc = tool_secret_get(o, secret);
    if (rc) {
        tool_secret_wipe(secret);
        tool_tls_config_free(tls);
        return rc;
    }
    ami_client *c = NULL;
    rc = ami_client_create(&c);
    if (rc == 0)
        rc = tool_tls_client(c, tls);
    tool_tls_config_free(tls);
    if (rc == AMI_ERR_UNSUPPORTED) {
        tool_secret_wipe(secret);
        ami_client_free(c);
        tool_err("--tls is not available: this libami was built without OpenSSL — connect "
                 "without --tls");
        return TOOL_EXIT_USAGE;
    }
    if (rc) {
        tool_secret_wipe(secret);
        tool_oom();
    }
    if (rec)
        ami_client_set_wire_cb(c, tool_record_wire, rec);
    rc = ami_client_connect(c, o->host, o->port, o->timeout_ms);
    if (rc) {
        tool_secret_wipe(secret);
        rc = connect_failed(o, c, rc);
        ami_client_free(c);
        return rc;
    }
    rc = ami_client_login(c, o->user, secret, o->md5 ? AMI_LOGIN_MD5 : AMI_LOGIN_PLAIN, events,
                          o->timeout_ms);
    tool_secret_wipe(secret);
    if (rc) {
        rc = login_failed(o, c, rc);
        ami_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void tool_conn_close(tool_opts *o, ami_client *c)
{
    if (!c)
        return;
    if (!ami_session_got_goodbye(ami_client_session(c))) {
        /* Logoff is a courtesy; a short bound keeps exit prompt. */
        int t = o->timeout_ms < 0 || o->timeout_ms > 2000 ? 2000 : o->timeout_ms;
        ami_client_logoff(c, t);
    }
    ami_client_free(c);
}

int tool_conn_call_failed(tool_opts *o, ami_client *c, const char *name, int rc,
                          const ami_result *r)
{
    switch (rc) {
    case AMI_ERR_ACTION_FAILED:
        tool_err("%s failed: %s", name, r ? ami_result_message(r) : detail(c, rc));
        break;
    case AMI_ERR_TIMEOUT:
        tool_err("%s (--timeout %s) — raise --timeout or check the server", detail(c, rc),
                 timeout_text(o));
        break;
    case AMI_ERR_INJECTION:
    case AMI_ERR_BAD_KEY:
    case AMI_ERR_TOO_LONG:
    case AMI_ERR_TOO_MANY:
        tool_err("%s was refused before sending: %s — fix the arguments", name, ami_strerror(rc));
        break;
    case AMI_ERR_CLOSED:
    case AMI_ERR_DISCONNECTED:
        tool_err("%s while waiting for %s — check the server's log", detail(c, rc), name);
        break;
    default:
        tool_err("%s on %s failed: %s — check the server", name, tool_conn_where(o), detail(c, rc));
        break;
    }
    return tool_exit_for(rc);
}
