/* `ami events`: stream events until SIGINT/SIGTERM, --count N printed
 * events, or an event matching --until. */
#include "conn.h"
#include "filter.h"
#include "output.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocked poll() returns early. The wait below is also
     * sliced, in case libami retries on EINTR. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* How long one wait may block before the stop flag is checked again. */
#define SLICE_MS 200

int tool_cmd_events(tool_opts *o)
{
    if (o->nargs > 0) {
        tool_err("events: unexpected argument '%s' — filters are given as --filter Key=GLOB",
                 o->args[0]);
        return TOOL_EXIT_USAGE;
    }
    int rc = tool_conn_settle(o);
    if (rc)
        return rc;
    install_handlers();
    ami_client *c = NULL;
    rc = tool_conn_open(o, o->events_mask ? o->events_mask : "on", &c);
    if (rc)
        return stop_signal ? TOOL_EXIT_OK : rc;

    ami_session *s = ami_client_session(c);
    tool_out out;
    tool_out_init(&out, o->format, stdout);
    tool_out_begin(&out);
    /* A terminal wants each event at once; a pipe gets full buffers, flushed
     * whenever the queue runs dry so a slow stream is never held back. */
    int tty = isatty(STDOUT_FILENO);
    unsigned long printed = 0;
    int code = TOOL_EXIT_OK;
    while (!stop_signal && !out.write_errno) {
        ami_packet *ev = NULL;
        int r = ami_client_next_event(c, SLICE_MS, &ev);
        if (r == 0) {
            tool_out_flush(&out);
            continue;
        }
        if (r < 0) {
            if (stop_signal)
                break;
            tool_out_flush(&out);
            if (r == AMI_ERR_CLOSED || r == AMI_ERR_DISCONNECTED)
                tool_err("%s closed the connection: %s — the event stream ended; check the "
                         "server",
                         tool_conn_where(o), ami_client_errmsg(c));
            else
                tool_err("event stream from %s broke: %s", tool_conn_where(o),
                         ami_client_errmsg(c));
            code = tool_exit_for(r);
            break;
        }
        int done = o->until.n && tool_filter_match(&o->until, ev);
        if (tool_filter_match(&o->filter, ev)) {
            tool_out_packet(&out, ev);
            printed++;
            if (o->count && printed >= o->count)
                done = 1;
            if (tty || ami_session_queued_events(s) == 0)
                tool_out_flush(&out);
        }
        ami_packet_free(ev);
        if (done)
            break;
    }
    int wcode = tool_out_finish(&out);
    if (code == TOOL_EXIT_OK)
        code = wcode;
    tool_conn_close(o, c);
    tool_filter_free(&o->filter);
    tool_filter_free(&o->until);
    return code;
}
