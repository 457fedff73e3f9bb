/* `ami action NAME [Key=Value ...]`: one action, its response and, for a
 * list action, every event of the list. */
#include "conn.h"
#include "docs_fetch.h"
#include "output.h"
#include "record.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Built before connecting, so a value libami refuses (CR/LF injection, a
 * bad key, an overlong line) means nothing at all is sent. */
static int build(const tool_opts *o, ami_action **out)
{
    *out = NULL;
    if (o->nargs < 1) {
        tool_err("action: missing the action name — e.g. ami action Ping, or ami action Getvar "
                 "Variable=FOO");
        return TOOL_EXIT_USAGE;
    }
    return tool_action_build(o->args[0], o->args, o->nargs, out);
}

int tool_action_build(const char *name, char *const *args, int nargs, ami_action **out)
{
    *out = NULL;
    ami_action *a = NULL;
    int rc = ami_action_create(&a, name);
    if (rc == AMI_ERR_NOMEM)
        tool_oom();
    if (rc) {
        tool_err("action: the action name was refused: %s — nothing was sent", ami_strerror(rc));
        return TOOL_EXIT_USAGE;
    }
    for (int i = 1; i < nargs; i++) {
        const char *arg = args[i];
        const char *eq = strchr(arg, '=');
        if (!eq) {
            tool_err("action: argument %d ('%s') is not Key=Value — write e.g. Channel=PJSIP/100",
                     i, arg);
            ami_action_free(a);
            return TOOL_EXIT_USAGE;
        }
        size_t klen = (size_t)(eq - arg);
        if (klen == 6 && strncasecmp(arg, "Action", 6) == 0) {
            tool_err("action: argument %d sets Action — the action name is the first argument, "
                     "one action per call",
                     i);
            ami_action_free(a);
            return TOOL_EXIT_USAGE;
        }
        rc = ami_action_addn(a, arg, klen, eq + 1, strlen(eq + 1));
        if (rc == AMI_ERR_NOMEM)
            tool_oom();
        if (rc) {
            tool_err("action: argument %d (key '%.*s') was refused: %s — nothing was sent", i,
                     (int)(klen > 64 ? 64 : klen), arg, ami_strerror(rc));
            ami_action_free(a);
            return TOOL_EXIT_USAGE;
        }
    }
    *out = a;
    return 0;
}

/* --check: the server's documentation of the action names its required
 * headers; refuse before sending when one is missing. A server whose
 * documentation cannot be read gets a warning and the action is sent. */
static int check(tool_opts *o, ami_client *c)
{
    const char *name = o->args[0];
    tool_doc d;
    const char *why = NULL;
    int call_rc = 0;
    char errbuf[512];
    int st = tool_docs_fetch(c, 0, name, o->timeout_ms, &d, &why, &call_rc, errbuf, sizeof errbuf);
    if (st == TOOL_DOC_EMPTY) {
        tool_err("--check: %s documents no action '%s' — nothing was sent (ami action "
                 "ListCommands lists the actions)",
                 tool_conn_where(o), name);
        return TOOL_EXIT_USAGE;
    }
    if (st == TOOL_DOCS_CALL_FAILED && call_rc != AMI_ERR_ACTION_FAILED)
        return tool_docs_report(o, c, 0, name, st, why, call_rc, errbuf);
    if (st != TOOL_DOC_OK) {
        tool_err("warning: --check: cannot read the server's documentation of '%s' (%s) — "
                 "sending unchecked",
                 name,
                 st == TOOL_DOC_BAD         ? (why ? why : "not documentation")
                 : st == TOOL_DOCS_BAD_NAME ? "not an action name"
                                            : errbuf);
        return 0;
    }
    char missing[512];
    size_t n = tool_docs_missing(&d, o->args + 1, o->nargs - 1, missing, sizeof missing);
    tool_doc_free(&d);
    if (n) {
        tool_err("%s needs %s (the server documents %s as required) — nothing was sent", name,
                 missing, n == 1 ? "it" : "them");
        return TOOL_EXIT_USAGE;
    }
    return 0;
}

int tool_cmd_action(tool_opts *o)
{
    ami_action *a = NULL;
    int rc = build(o, &a);
    if (rc)
        return rc;
    rc = tool_conn_settle(o);
    if (rc) {
        ami_action_free(a);
        return rc;
    }
    ami_client *c = NULL;
    tool_record *rec = NULL;
    rc = tool_record_open(o, &rec);
    if (rc == 0)
        rc = tool_conn_open_rec(o, o->events_mask ? o->events_mask : "off", rec, &c);
    if (rc == 0 && o->check)
        rc = check(o, c);
    if (rc) {
        tool_conn_close(o, c);
        tool_record_close(rec);
        ami_action_free(a);
        return rc;
    }
    ami_result *r = NULL;
    int st = ami_client_call(c, a, o->timeout_ms, &r);
    int code = TOOL_EXIT_OK;
    const ami_packet *resp = r ? ami_result_response(r) : NULL;
    if (resp) {
        tool_out out;
        tool_out_init(&out, o->format, stdout);
        tool_out_begin(&out);
        tool_out_packet(&out, resp);
        size_t n = ami_result_event_count(r);
        for (size_t i = 0; i < n; i++)
            tool_out_packet(&out, ami_result_event(r, i));
        code = tool_out_finish(&out);
    }
    if (st)
        code = tool_conn_call_failed(o, c, o->args[0], st, r);
    ami_result_free(r);
    ami_action_free(a);
    tool_conn_close(o, c);
    int rcode = tool_record_close(rec);
    return code ? code : rcode;
}
