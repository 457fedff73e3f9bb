/* `ami action NAME [Key=Value ...]`: one action, its response and, for a
 * list action, every event of the list. */
#include "conn.h"
#include "output.h"

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
    ami_action *a = NULL;
    int rc = ami_action_create(&a, o->args[0]);
    if (rc == AMI_ERR_NOMEM)
        tool_oom();
    if (rc) {
        tool_err("action: the action name was refused: %s — nothing was sent", ami_strerror(rc));
        return TOOL_EXIT_USAGE;
    }
    for (int i = 1; i < o->nargs; i++) {
        const char *arg = o->args[i];
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
    rc = tool_conn_open(o, o->events_mask ? o->events_mask : "off", &c);
    if (rc) {
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
    return code;
}
