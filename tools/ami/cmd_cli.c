/* `ami cli COMMAND...`: a CLI command through the Command action, printed
 * as Asterisk's console prints it (both Command framings give the same
 * lines, via ami_result_output_*). */
#include "conn.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *join_args(const tool_opts *o)
{
    size_t n = 1;
    for (int i = 0; i < o->nargs; i++)
        n += strlen(o->args[i]) + 1;
    char *s = tool_xrealloc(NULL, n);
    s[0] = '\0';
    for (int i = 0; i < o->nargs; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, o->args[i]);
    }
    return s;
}

static int print_lines(const ami_result *r)
{
    tool_out out;
    tool_out_init(&out, TOOL_FORMAT_TEXT, stdout);
    size_t n = ami_result_output_count(r);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *line = ami_result_output_line(r, i, &len);
        out.buf.len = 0;
        tool_buf_add(&out.buf, line, len);
        tool_buf_addc(&out.buf, '\n');
        tool_out_raw(&out, out.buf.p, out.buf.len);
    }
    return tool_out_finish(&out);
}

int tool_cmd_cli(tool_opts *o)
{
    if (o->nargs < 1) {
        tool_err("cli: missing the CLI command — e.g. ami cli 'core show channels'");
        return TOOL_EXIT_USAGE;
    }
    char *cmd = join_args(o);
    ami_action *a = NULL;
    int rc = ami_action_create(&a, "Command");
    if (rc == 0)
        rc = ami_action_add(a, "Command", cmd);
    if (rc == AMI_ERR_NOMEM)
        tool_oom();
    if (rc) {
        tool_err("cli: the command was refused: %s — nothing was sent", ami_strerror(rc));
        ami_action_free(a);
        free(cmd);
        return TOOL_EXIT_USAGE;
    }
    rc = tool_conn_settle(o);
    ami_client *c = NULL;
    if (rc == 0)
        rc = tool_conn_open(o, o->events_mask ? o->events_mask : "off", &c);
    if (rc) {
        ami_action_free(a);
        free(cmd);
        return rc;
    }
    ami_result *r = NULL;
    int st = ami_client_call(c, a, o->timeout_ms, &r);
    int code = TOOL_EXIT_OK;
    if (r && ami_result_response(r)) {
        if (o->format == TOOL_FORMAT_TEXT) {
            code = print_lines(r);
        } else {
            tool_out out;
            tool_out_init(&out, o->format, stdout);
            out.array_key = "Output";
            tool_out_packet(&out, ami_result_response(r));
            code = tool_out_finish(&out);
        }
    }
    if (st) {
        char name[80];
        snprintf(name, sizeof(name), "CLI command '%.60s'", cmd);
        code = tool_conn_call_failed(o, c, name, st, r);
    }
    ami_result_free(r);
    ami_action_free(a);
    free(cmd);
    tool_conn_close(o, c);
    return code;
}
