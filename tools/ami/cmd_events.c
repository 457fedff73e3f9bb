/* `ami events`: stream events from one or several servers in one poll()
 * loop (libami's event-loop client) until SIGINT/SIGTERM/SIGHUP, --count N
 * printed events, or an event matching --until. With --reconnect each
 * server is followed across restarts and the library's gap notice is
 * printed like an event. */
#include "conn.h"
#include "filter.h"
#include "follow.h"
#include "output.h"
#include "record.h"
#include "secret.h"
#include "stop.h"
#include "tlsopt.h"

#include <ami/adapters/poll.h>
#include <ami/async.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct watch watch;

typedef struct server_state {
    watch *w;
    const tool_server *srv;
    int was_up;    /* logged in at least once */
    int announced; /* the current outage was reported on stderr */
} server_state;

struct watch {
    tool_opts *o;
    tool_out out;
    int tty;
    int tag; /* name the server in every packet */
    unsigned long printed;
    int unflushed;
    int done;         /* --count or --until reached, or a server failed */
    int code;         /* exit status of the first failure */
    int logging_off;  /* the end: STOPPED is expected now */
    tool_record *rec; /* --record, one server only */
    ami_async *h[TOOL_MAX_SERVERS];
    server_state st[TOOL_MAX_SERVERS];
    size_t n;
};

static void on_event(ami_async *a, const ami_packet *ev, void *ud)
{
    server_state *ss = ud;
    watch *w = ss->w;
    (void)a;
    if (w->done || tool_stop_signal())
        return;
    const char *name = ami_packet_event_name(ev);
    /* The gap notice is printed whatever --filter says, and is not counted
     * by --count: it is about the stream, and a filtered stream must still
     * say that it missed events. --until may match it. */
    int gap = name && strcmp(name, AMI_ASYNC_GAP_EVENT) == 0;
    int until = w->o->until.n && tool_filter_match(&w->o->until, ev);
    if (gap || tool_filter_match(&w->o->filter, ev)) {
        tool_out_packet_tagged(&w->out, ev, w->tag ? ss->srv->where : NULL, gap);
        w->unflushed = 1;
        if (!gap) {
            w->printed++;
            if (w->o->count && w->printed >= w->o->count)
                w->done = 1;
        }
        if (w->tty)
            tool_out_flush(&w->out);
    }
    if (until)
        w->done = 1;
}

static int exit_for_reason(ami_async_reason why)
{
    switch (why) {
    case AMI_ASYNC_REASON_AUTH:
        return TOOL_EXIT_AUTH;
    case AMI_ASYNC_REASON_TIMEOUT:
        return TOOL_EXIT_TIMEOUT;
    default:
        return TOOL_EXIT_CONNECTION;
    }
}

/* Say what failed on one server and what to do. `lost` is 1 when the
 * connection had been up (the stream ended), 0 when it never came up. */
static void report(const watch *w, const server_state *ss, ami_async *a, ami_async_reason why,
                   int lost, const char *then)
{
    const tool_opts *o = w->o;
    const char *where = ss->srv->where;
    const char *msg = ami_async_errmsg(a);
    int code = ami_async_last_error(a);
    if (code == AMI_ERR_TLS_VERIFY) {
        char prefix[320];
        snprintf(prefix, sizeof(prefix), "%s: ", where);
        tool_tls_verify_err(prefix, msg, then);
        return;
    }
    switch (why) {
    case AMI_ASYNC_REASON_AUTH:
        tool_err("%s: %s — check -u/AMI_USER and the secret (AMI_SECRET or --secret-file)%s", where,
                 msg, o->md5 ? "" : "; try --md5 if plain login is disabled");
        return;
    case AMI_ASYNC_REASON_TIMEOUT:
        if (lost)
            tool_err("%s: %s%s — the server stopped answering; check it", where, msg, then);
        else
            tool_err("%s: %s (--timeout %gs)%s — check -H/-p (Asterisk's AMI port is 5038%s) "
                     "or raise --timeout",
                     where, msg, o->timeout_sec, then,
                     o->tls ? "" : "; for AMI over TLS, such as port 5039, add --tls");
        return;
    case AMI_ASYNC_REASON_CONNECT:
        if (code == AMI_ERR_REFUSED)
            tool_err("cannot connect to %s: connection refused%s — is Asterisk (or ami-sim) "
                     "running? check -H/-p",
                     where, then);
        else
            tool_err("%s: %s%s — is Asterisk (or ami-sim) running? check -H/-p", where, msg, then);
        return;
    default:
        break;
    }
    if (lost)
        tool_err("%s closed the connection: %s%s — the event stream ended; check the server", where,
                 msg, then);
    else
        tool_err("%s: %s%s — check -H/-p (Asterisk's AMI port is 5038)", where, msg, then);
}

static void on_state(ami_async *a, ami_async_state state, ami_async_reason why, void *ud)
{
    server_state *ss = ud;
    watch *w = ss->w;
    if (state == AMI_ASYNC_UP) {
        if (ss->announced)
            tool_err("%s: connected again", ss->srv->where);
        ss->was_up = 1;
        ss->announced = 0;
        return;
    }
    if (w->logging_off || tool_stop_signal())
        return;
    if (state == AMI_ASYNC_DISCONNECTED) {
        /* --reconnect: one line per outage, not one per failed attempt. */
        if (!ss->announced)
            report(w, ss, a, why, ss->was_up, "; reconnecting (--reconnect)");
        ss->announced = 1;
        return;
    }
    if (state != AMI_ASYNC_STOPPED || w->done)
        return;
    /* Without --reconnect any loss ends the run; with it only what the
     * library does not retry (a refused login) does. */
    report(w, ss, a, why, ss->was_up && why != AMI_ASYNC_REASON_AUTH, "");
    w->code = exit_for_reason(why);
    w->done = 1;
}

static int queues_empty(const watch *w)
{
    for (size_t i = 0; i < w->n; i++) {
        ami_async_stats st;
        ami_async_stats_get(w->h[i], &st);
        if (st.queued)
            return 0;
    }
    return 1;
}

/* Checked at every turn of the loop: the end, and the flush policy (a pipe
 * gets full buffers, flushed whenever no event is waiting, so a slow stream
 * is never held back and a fast one is not written line by line). */
static int should_end(void *ud)
{
    watch *w = ud;
    if (w->unflushed && queues_empty(w)) {
        tool_out_flush(&w->out);
        w->unflushed = 0;
    }
    return tool_stop_signal() || w->done || w->out.write_errno;
}

static int all_stopped(void *ud)
{
    watch *w = ud;
    for (size_t i = 0; i < w->n; i++) {
        ami_async_state s = ami_async_get_state(w->h[i]);
        if (s != AMI_ASYNC_STOPPED && s != AMI_ASYNC_IDLE)
            return 0;
    }
    return 1;
}

/* Log off politely where logged in; stop the rest (pending reconnects). */
static void finish(watch *w)
{
    w->logging_off = 1;
    for (size_t i = 0; i < w->n; i++) {
        if (ami_async_get_state(w->h[i]) == AMI_ASYNC_UP) {
            ami_async_set_timeouts(w->h[i], TOOL_LOGOFF_MS, TOOL_LOGOFF_MS);
            if (ami_async_logoff(w->h[i]) == 0)
                continue;
        }
        ami_async_stop(w->h[i]);
    }
    ami_poll_loop(w->h, w->n, TOOL_LOGOFF_MS, all_stopped, w);
}

static int setup(watch *w, size_t i, const char *secret, const ami_tls_config *tls)
{
    tool_opts *o = w->o;
    server_state *ss = &w->st[i];
    ss->w = w;
    ss->srv = &o->servers[i];
    if (ami_async_create(&w->h[i]) != 0)
        tool_oom();
    ami_async *a = w->h[i];
    int rc = ami_async_set_server(a, ss->srv->host, ss->srv->port);
    if (rc == 0)
        rc = ami_async_set_login(a, o->user, secret, o->md5 ? AMI_LOGIN_MD5 : AMI_LOGIN_PLAIN);
    if (rc == 0)
        rc = ami_async_set_events(a, o->events_mask ? o->events_mask : "on");
    if (rc == 0)
        rc = tool_tls_async(a, tls);
    if (rc == AMI_ERR_NOMEM)
        tool_oom();
    if (rc) {
        tool_err("cannot set up %s: %s — check -H, -u and --events", ss->srv->where,
                 ami_strerror(rc));
        return tool_exit_for(rc);
    }
    int t = o->timeout_ms < 0 ? INT_MAX : o->timeout_ms;
    ami_async_set_timeouts(a, t, t);
    ami_async_set_reconnect(a, o->reconnect, TOOL_RECONNECT_INITIAL_MS, TOOL_RECONNECT_MAX_MS, 0);
    if (o->reconnect)
        ami_async_set_keepalive(a, TOOL_KEEPALIVE_MS, TOOL_KEEPALIVE_DEADLINE_MS);
    ami_async_set_event_cb(a, on_event, ss);
    if (w->rec)
        ami_async_set_wire_cb(a, tool_record_wire, w->rec);
    ami_async_set_state_cb(a, on_state, ss);
    return 0;
}

static int watch_all(watch *w, const char *secret, const ami_tls_config *tls)
{
    for (size_t i = 0; i < w->n; i++) {
        int rc = setup(w, i, secret, tls);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < w->n; i++)
        if (ami_async_start(w->h[i]) != 0)
            tool_oom(); /* only a handle without server or login refuses */
    while (!should_end(w))
        if (ami_poll_loop(w->h, w->n, TOOL_SLICE_MS, should_end, w) < 0) {
            tool_err("waiting for events failed: %s", strerror(errno));
            return TOOL_EXIT_CONNECTION;
        }
    return w->code;
}

int tool_cmd_events(tool_opts *o)
{
    if (o->nargs > 0) {
        tool_err("events: unexpected argument '%s' — filters are given as --filter Key=GLOB",
                 o->args[0]);
        return TOOL_EXIT_USAGE;
    }
    ami_tls_config *tls;
    int rc = tool_conn_settle_tls(o, &tls);
    if (rc)
        return rc;
    tool_record *rec = NULL;
    if ((rc = tool_record_open(o, &rec)) != 0) {
        tool_tls_config_free(tls);
        return rc;
    }
    char secret[TOOL_SECRET_MAX];
    if ((rc = tool_secret_get(o, secret)) != 0) {
        tool_secret_wipe(secret);
        tool_tls_config_free(tls);
        tool_record_close(rec);
        return rc;
    }
    tool_stop_install();

    watch *w = calloc(1, sizeof(*w));
    if (!w)
        tool_oom();
    w->o = o;
    w->rec = rec;
    w->n = o->nservers;
    w->tag = o->tag || o->nservers > 1;
    w->tty = isatty(STDOUT_FILENO);
    tool_out_init(&w->out, o->format, stdout);
    tool_out_begin(&w->out);

    int code = watch_all(w, secret, tls);
    tool_secret_wipe(secret);
    tool_tls_config_free(tls);
    if (tool_stop_signal())
        code = TOOL_EXIT_OK; /* also a signal during connect or login */
    finish(w);
    int wcode = tool_out_finish(&w->out);
    if (code == TOOL_EXIT_OK)
        code = wcode;
    for (size_t i = 0; i < w->n; i++)
        ami_async_free(w->h[i]);
    free(w);
    int rcode = tool_record_close(rec);
    if (code == TOOL_EXIT_OK)
        code = rcode;
    tool_filter_free(&o->filter);
    tool_filter_free(&o->until);
    return code;
}
