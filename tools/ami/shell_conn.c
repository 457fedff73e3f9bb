/*
 * The shell's connection: one ami_async handle, served from the shell's
 * poll (shell_poll). It reconnects with the same options by itself
 * (backoff 0.5 s doubling to 10 s), so the shell outlives a server
 * restart; a refused login stops it.
 */
#include "shell.h"

#include "filter.h"
#include "output.h"
#include "tlsopt.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define RECONNECT_INITIAL_MS 500
#define RECONNECT_MAX_MS     10000

struct shell_request {
    shell *sh;
    int done;
    int abandoned; /* Ctrl-C: the answer is dropped when it comes */
    int rc;
    ami_result *result;
    char name[64];
};

static void on_event(ami_async *a, const ami_packet *ev, void *ud)
{
    (void)a;
    shell *sh = ud;
    if (!sh->events_on || !tool_filter_match(&sh->filter, ev))
        return;
    tool_out out;
    /* One object per line in the json formats: events have no end. */
    tool_out_init(&out, sh->o->format == TOOL_FORMAT_TEXT ? TOOL_FORMAT_TEXT : TOOL_FORMAT_NDJSON,
                  shell_out_file(sh));
    tool_out_packet(&out, ev);
    tool_out_finish(&out);
    shell_out_done(sh);
}

static void on_state(ami_async *a, ami_async_state state, ami_async_reason why, void *ud)
{
    shell *sh = ud;
    const char *where = sh->o->servers[0].where;
    if (state == AMI_ASYNC_UP) {
        if (sh->was_up || sh->loop_started)
            shell_print(sh, "ami: connected to %s%s\n", where, sh->was_up ? " again" : "");
        sh->up = 1;
        sh->was_up = 1;
        /* A new connection may be a new server version: names and
         * documentation are looked up again. */
        sh->docs_stale = 1;
        return;
    }
    if (state == AMI_ASYNC_DISCONNECTED) {
        if (sh->up)
            shell_print(sh, "ami: lost %s: %s — reconnecting\n", where, ami_async_errmsg(a));
        sh->up = 0;
        return;
    }
    if (state == AMI_ASYNC_STOPPED) {
        if (!sh->quit)
            shell_print(sh, "ami: %s: %s\n", where, ami_async_errmsg(a));
        sh->up = 0;
        sh->stopped = 1;
        sh->stop_code = why == AMI_ASYNC_REASON_AUTH      ? TOOL_EXIT_AUTH
                        : why == AMI_ASYNC_REASON_TIMEOUT ? TOOL_EXIT_TIMEOUT
                                                          : TOOL_EXIT_CONNECTION;
    }
}

int shell_conn_start(shell *sh, const char *secret, const ami_tls_config *tls)
{
    tool_opts *o = sh->o;
    if (ami_async_create(&sh->a) != 0)
        tool_oom();
    ami_async *a = sh->a;
    int rc = ami_async_set_server(a, o->host, o->port);
    if (rc == 0)
        rc = ami_async_set_login(a, o->user, secret, o->md5 ? AMI_LOGIN_MD5 : AMI_LOGIN_PLAIN);
    if (rc == 0)
        rc = ami_async_set_events(a, o->events_mask  ? o->events_mask
                                     : sh->events_on ? "on"
                                                     : "off");
    if (rc == 0)
        rc = tool_tls_async(a, tls);
    if (rc == AMI_ERR_NOMEM)
        tool_oom();
    if (rc) {
        tool_err("cannot set up %s: %s — check -H, -u and --events", o->servers[0].where,
                 ami_strerror(rc));
        return TOOL_EXIT_USAGE;
    }
    int t = o->timeout_ms < 0 ? INT_MAX : o->timeout_ms;
    ami_async_set_timeouts(a, t, t);
    ami_async_set_reconnect(a, 1, RECONNECT_INITIAL_MS, RECONNECT_MAX_MS, 0);
    ami_async_set_event_cb(a, on_event, sh);
    ami_async_set_state_cb(a, on_state, sh);
    if (sh->rec)
        ami_async_set_wire_cb(a, tool_record_wire, sh->rec);
    if (ami_async_start(a) != 0)
        tool_oom();
    return 0;
}

int shell_wait_up(shell *sh, int timeout_ms)
{
    uint64_t end = timeout_ms < 0 ? UINT64_MAX : ami_async_now() + (uint64_t)timeout_ms;
    while (!sh->up && !sh->stopped && !shell_sigint) {
        uint64_t now = ami_async_now();
        if (now >= end)
            return AMI_ERR_TIMEOUT;
        uint64_t left = end - now;
        shell_poll(sh, left > 1000 ? 1000 : (int)left, 0);
    }
    return sh->up ? 0 : AMI_ERR_DISCONNECTED;
}

static void on_result(ami_async *a, ami_result *r, void *ud)
{
    (void)a;
    shell_request *q = ud;
    if (q->abandoned) {
        const ami_packet *p = r ? ami_result_response(r) : NULL;
        const char *resp = p ? ami_packet_get(p, "Response") : NULL;
        shell_print(q->sh, "ami: the answer to the cancelled %s came (%s) and was dropped\n",
                    q->name, resp ? resp : ami_strerror(r ? ami_result_status(r) : 0));
        ami_result_free(r);
        free(q);
        return;
    }
    q->done = 1;
    q->result = r;
    q->rc = r ? ami_result_status(r) : AMI_ERR_DISCONNECTED;
}

int shell_call(shell *sh, const ami_action *a, int timeout_ms, ami_result **out)
{
    *out = NULL;
    if (!sh->up)
        return AMI_ERR_DISCONNECTED;
    shell_request *q = calloc(1, sizeof *q);
    if (!q)
        tool_oom();
    q->sh = sh;
    snprintf(q->name, sizeof q->name, "%s", ami_action_name(a));
    int rc = ami_async_send(sh->a, a, timeout_ms, on_result, q, NULL);
    if (rc) {
        free(q);
        return rc;
    }
    shell_sigint = 0;
    while (!q->done) {
        if (shell_sigint) {
            /* AMI cannot take an action back: stop waiting, drop the
             * answer when it comes. */
            shell_sigint = 0;
            q->abandoned = 1;
            return AMI_ERR_CANCELLED;
        }
        shell_poll(sh, -1, 0);
    }
    rc = q->rc;
    *out = q->result;
    free(q);
    return rc;
}

void shell_events_set(shell *sh, int on)
{
    sh->events_on = on;
    /* The mask of every later login too, so a reconnect keeps it. */
    ami_async_set_events(sh->a, on ? "on" : "off");
}

void shell_conn_stop(shell *sh)
{
    if (!sh->a)
        return;
    if (ami_async_get_state(sh->a) == AMI_ASYNC_UP) {
        ami_async_set_timeouts(sh->a, 2000, 2000);
        if (ami_async_logoff(sh->a) == 0) {
            uint64_t end = ami_async_now() + 2000;
            while (ami_async_get_state(sh->a) != AMI_ASYNC_STOPPED && ami_async_now() < end)
                shell_poll(sh, 200, 0);
        }
    }
    ami_async_stop(sh->a);
    ami_async_free(sh->a);
    sh->a = NULL;
}
