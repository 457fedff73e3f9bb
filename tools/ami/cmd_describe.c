/* `ami describe ACTION` / `ami describe --event NAME`: the server's own
 * documentation of an action or event, parsed, as text or JSON. */
#include "conn.h"
#include "docs_fetch.h"

#include <stdio.h>
#include <string.h>

/* Report a failed fetch; returns the exit status. */
int tool_docs_report(tool_opts *o, ami_client *c, int is_event, const char *name, int st,
                     const char *why, int call_rc, const char *errbuf)
{
    const char *kind = is_event ? "event" : "action";
    switch (st) {
    case TOOL_DOC_EMPTY:
        tool_err("%s does not document an %s named '%s' — ami action ListCommands lists the "
                 "actions, ami cli 'manager show events' the events",
                 tool_conn_where(o), kind, name);
        return TOOL_EXIT_ACTION_FAILED;
    case TOOL_DOC_BAD:
        tool_err("%s answered 'manager show %s %s' with something that is not documentation "
                 "(%s)",
                 tool_conn_where(o), is_event ? "event" : "command", name, why ? why : "?");
        return TOOL_EXIT_CONNECTION;
    case TOOL_DOCS_BAD_NAME:
        tool_err("'%s' is not an %s name (letters, digits, '_', '-' and '.') — nothing was sent",
                 name, kind);
        return TOOL_EXIT_USAGE;
    case TOOL_DOCS_CALL_FAILED:
        if (call_rc == AMI_ERR_ACTION_FAILED) {
            tool_err("the documentation of %s '%s' was refused: %s — the user needs the command "
                     "write class",
                     kind, name, errbuf);
            return TOOL_EXIT_ACTION_FAILED;
        }
        (void)c;
        tool_err("asking %s for the documentation of '%s': %s", tool_conn_where(o), name, errbuf);
        return tool_exit_for(call_rc);
    default:
        return TOOL_EXIT_OK;
    }
}

int tool_cmd_describe(tool_opts *o)
{
    if (o->nargs != 1) {
        tool_err("describe: give one name — e.g. ami describe Originate, or ami describe --event "
                 "Hangup");
        return TOOL_EXIT_USAGE;
    }
    const char *name = o->args[0];
    int is_event = o->doc_event;
    if (!tool_docs_valid_name(name))
        return tool_docs_report(o, NULL, is_event, name, TOOL_DOCS_BAD_NAME, NULL, 0, "");
    int rc = tool_conn_settle(o);
    if (rc)
        return rc;
    ami_client *c = NULL;
    rc = tool_conn_open(o, o->events_mask ? o->events_mask : "off", &c);
    if (rc)
        return rc;
    tool_doc d;
    const char *why = NULL;
    int call_rc = 0;
    char errbuf[512];
    int st = tool_docs_fetch(c, is_event, name, o->timeout_ms, &d, &why, &call_rc, errbuf,
                             sizeof errbuf);
    int code = tool_docs_report(o, c, is_event, name, st, why, call_rc, errbuf);
    if (st == TOOL_DOC_OK) {
        if (tool_docs_print(&d, o->format, stdout) != 0)
            code = TOOL_EXIT_CONNECTION;
        tool_doc_free(&d);
    }
    tool_conn_close(o, c);
    return code;
}
