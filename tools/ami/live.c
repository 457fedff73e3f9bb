/* The live state of several servers in one poll() loop: see live.h. The
 * informer itself (list on the first login and after every gap notice) is
 * libami's ami_state_link; this file runs the loop and keeps what the
 * views show about each server (up, down, resynced). */
#include "live.h"

#include "conn.h"
#include "follow.h"
#include "secret.h"
#include "stop.h"
#include "tlsopt.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_synced(ami_state_link *link, int synced, int error, void *ud)
{
    tool_live_server *s = ud;
    (void)link;
    if (synced) {
        s->list_failed = 0;
        s->synced_at = ami_async_now();
    } else {
        /* A list timed out or the connection dropped mid-list: the next
         * gap's resync tries again. */
        s->list_failed = error ? error : AMI_ERR_DISCONNECTED;
    }
    s->live->changed = 1;
}

static void on_change(ami_state *st, ami_state_kind kind, ami_state_change change,
                      const ami_state_object *old, const ami_state_object *now, void *ud)
{
    tool_live_server *s = ud;
    (void)st, (void)kind, (void)change, (void)old, (void)now;
    s->live->changed = 1;
}

static void on_event(ami_async *a, const ami_packet *ev, void *ud)
{
    tool_live_server *s = ud;
    tool_live *l = s->live;
    (void)a;
    uint64_t now = ami_async_now();
    ami_state_set_now(s->st, now);
    const char *name = ami_packet_event_name(ev);
    if (name && strcmp(name, AMI_ASYNC_GAP_EVENT) == 0) {
        /* The link resyncs on the notice (it comes after every event of
         * the lost connection); the mark tells the viewer why. */
        s->gap_at = now;
        l->changed = 1;
    }
    if (ami_state_async_on_event(s->link, ev) == AMI_ERR_NOMEM && ami_state_async_resync(s->link))
        s->list_failed = AMI_ERR_NOMEM; /* stale: shown, and listed again at the next gap */
    if (l->on_event)
        l->on_event(s, ev, l->ud);
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

static void report(const tool_live_server *s, ami_async_reason why, const char *then)
{
    const tool_opts *o = s->live->o;
    const char *where = s->srv->where;
    const char *msg = ami_async_errmsg(s->a);
    int code = ami_async_last_error(s->a);
    if (code == AMI_ERR_TLS_VERIFY) {
        char prefix[320];
        snprintf(prefix, sizeof(prefix), "%s: ", where);
        tool_tls_verify_err(prefix, msg, then);
    } else if (why == AMI_ASYNC_REASON_AUTH) {
        tool_err("%s: %s — check -u/AMI_USER and the secret (AMI_SECRET or --secret-file)%s", where,
                 msg, o->md5 ? "" : "; try --md5 if plain login is disabled");
    } else if (code == AMI_ERR_REFUSED) {
        tool_err("cannot connect to %s: connection refused%s — is Asterisk (or ami-sim) running? "
                 "check -H/-p",
                 where, then);
    } else if (s->was_up) {
        tool_err("%s closed the connection: %s%s — check the server", where, msg, then);
    } else {
        tool_err("%s: %s%s — check -H/-p (Asterisk's AMI port is 5038%s) or --timeout", where, msg,
                 then, o->tls ? "" : "; for AMI over TLS, such as port 5039, add --tls");
    }
}

static void on_state(ami_async *a, ami_async_state state, ami_async_reason why, void *ud)
{
    tool_live_server *s = ud;
    tool_live *l = s->live;
    (void)a;
    ami_state_set_now(s->st, ami_async_now());
    ami_state_async_on_state(s->link, state);
    if (state == AMI_ASYNC_UP) {
        if (s->announced && !l->quiet)
            tool_err("%s: connected again", s->srv->where);
        s->up = 1;
        s->was_up = 1;
        s->announced = 0;
        s->down_at = 0;
        l->changed = 1;
        return;
    }
    if (s->up) {
        s->up = 0;
        s->down_at = ami_async_now();
        l->changed = 1;
    }
    if (l->logging_off || tool_stop_signal())
        return;
    if (state == AMI_ASYNC_DISCONNECTED) {
        if (!s->down_at)
            s->down_at = ami_async_now();
        if (!s->announced && !l->quiet)
            report(s, why, "; reconnecting");
        s->announced = 1;
        return;
    }
    if (state != AMI_ASYNC_STOPPED || s->failed)
        return;
    if (!s->down_at)
        s->down_at = ami_async_now();
    if (!l->quiet)
        report(s, why, "");
    s->failed = 1;
    s->code = exit_for_reason(why);
    l->failed_count++;
    l->changed = 1;
}

static int setup(tool_live *l, size_t i, const char *secret, const ami_tls_config *tls)
{
    tool_opts *o = l->o;
    tool_live_server *s = &l->sv[i];
    s->live = l;
    s->srv = &o->servers[i];
    s->name = s->srv->arg;
    if (ami_async_create(&s->a) != 0 || ami_state_create(&s->st) != 0)
        tool_oom();
    l->h[i] = s->a;
    ami_state_set_change_cb(s->st, on_change, s);
    int t = o->timeout_ms < 0 ? INT_MAX : o->timeout_ms;
    if (ami_state_link_create(&s->link, s->st, s->a, o->timeout_ms) != 0)
        tool_oom();
    ami_state_link_set_synced_cb(s->link, on_synced, s);
    int rc = ami_async_set_server(s->a, s->srv->host, s->srv->port);
    if (rc == 0)
        rc = ami_async_set_login(s->a, o->user, secret, o->md5 ? AMI_LOGIN_MD5 : AMI_LOGIN_PLAIN);
    if (rc == 0)
        rc = ami_async_set_events(s->a, o->events_mask ? o->events_mask : "on");
    if (rc == 0)
        rc = tool_tls_async(s->a, tls);
    if (rc == AMI_ERR_NOMEM)
        tool_oom();
    if (rc) {
        tool_err("cannot set up %s: %s — check -H, -u and --events", s->srv->where,
                 ami_strerror(rc));
        return tool_exit_for(rc);
    }
    ami_async_set_timeouts(s->a, t, t);
    ami_async_set_reconnect(s->a, l->reconnect, TOOL_RECONNECT_INITIAL_MS, TOOL_RECONNECT_MAX_MS,
                            0);
    if (l->reconnect)
        ami_async_set_keepalive(s->a, TOOL_KEEPALIVE_MS, TOOL_KEEPALIVE_DEADLINE_MS);
    ami_async_set_event_cb(s->a, on_event, s);
    ami_async_set_state_cb(s->a, on_state, s);
    return 0;
}

int tool_live_init(tool_live *l, tool_opts *o, int reconnect)
{
    l->o = o;
    l->reconnect = reconnect;
    ami_tls_config *tls;
    int rc = tool_conn_settle_tls(o, &tls);
    if (rc)
        return rc;
    char secret[TOOL_SECRET_MAX];
    if ((rc = tool_secret_get(o, secret)) == 0) {
        tool_stop_install();
        l->n = o->nservers;
        for (size_t i = 0; i < l->n && rc == 0; i++)
            rc = setup(l, i, secret, tls);
    }
    /* The secret lives only as long as the logins are being set up. */
    tool_secret_wipe(secret);
    tool_tls_config_free(tls);
    return rc;
}

void tool_live_start(tool_live *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (ami_async_start(l->h[i]) != 0)
            tool_oom(); /* only a handle without server or login refuses */
}

int tool_live_all_synced(const tool_live *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (!l->sv[i].failed && !ami_state_is_synced(l->sv[i].st))
            return 0;
    return 1;
}

int tool_live_run(tool_live *l, const tool_live_loop *lp)
{
    struct pollfd fds[TOOL_MAX_SERVERS + 1];
    uint64_t next_tick = lp->tick_ms >= 0 ? ami_async_now() + (uint64_t)lp->tick_ms : UINT64_MAX;
    for (;;) {
        if ((tool_stop_signal() && !lp->ignore_stop) || (lp->done && lp->done(lp->ud)))
            return 0;
        uint64_t now = ami_async_now();
        if (lp->end_at && now >= lp->end_at)
            return 0;
        uint64_t wake = now + TOOL_SLICE_MS;
        if (lp->end_at && lp->end_at < wake)
            wake = lp->end_at;
        if (next_tick < wake)
            wake = next_tick;
        size_t n = 0;
        for (size_t i = 0; i < l->n; i++, n++) {
            unsigned ev = ami_async_events(l->h[i]);
            fds[n].fd = ev ? ami_async_fd(l->h[i]) : -1;
            fds[n].events = (short)(((ev & AMI_ASYNC_READ) ? POLLIN : 0) |
                                    ((ev & AMI_ASYNC_WRITE) ? POLLOUT : 0));
            fds[n].revents = 0;
            uint64_t d = ami_async_deadline(l->h[i]);
            if (d < wake)
                wake = d;
        }
        fds[n].fd = lp->extra_fd;
        fds[n].events = POLLIN;
        fds[n].revents = 0;
        int wait = wake <= now ? 0 : (int)(wake - now);
        int r = poll(fds, (nfds_t)(n + 1), wait);
        if (r < 0 && errno != EINTR)
            return -1;
        now = ami_async_now();
        for (size_t i = 0; i < l->n; i++) {
            unsigned ev = 0;
            if (r > 0 && fds[i].fd >= 0) {
                if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
                    ev |= AMI_ASYNC_READ;
                if (fds[i].revents & (POLLOUT | POLLHUP | POLLERR))
                    ev |= AMI_ASYNC_WRITE;
            }
            if (ev || ami_async_deadline(l->h[i]) <= now)
                ami_async_process(l->h[i], ev);
        }
        if (r > 0 && lp->extra_fd >= 0 && (fds[n].revents & (POLLIN | POLLHUP | POLLERR)) &&
            lp->on_extra)
            lp->on_extra(lp->ud);
        if (now >= next_tick) {
            next_tick = now + (uint64_t)lp->tick_ms;
            if (lp->on_tick)
                lp->on_tick(lp->ud);
        }
    }
}

static int all_stopped(void *ud)
{
    tool_live *l = ud;
    for (size_t i = 0; i < l->n; i++) {
        ami_async_state s = ami_async_get_state(l->h[i]);
        if (s != AMI_ASYNC_STOPPED && s != AMI_ASYNC_IDLE)
            return 0;
    }
    return 1;
}

void tool_live_finish(tool_live *l)
{
    l->logging_off = 1;
    for (size_t i = 0; i < l->n; i++) {
        if (!l->h[i])
            continue;
        if (ami_async_get_state(l->h[i]) == AMI_ASYNC_UP) {
            ami_async_set_timeouts(l->h[i], TOOL_LOGOFF_MS, TOOL_LOGOFF_MS);
            if (ami_async_logoff(l->h[i]) == 0)
                continue;
        }
        ami_async_stop(l->h[i]);
    }
    /* Bounded: the Logoff courtesy must not hold the exit up, and it runs
     * also after a Ctrl-C ended the view. */
    tool_live_loop lp = {.extra_fd = -1, .tick_ms = -1, .done = all_stopped, .ud = l};
    lp.end_at = ami_async_now() + TOOL_LOGOFF_MS;
    lp.ignore_stop = 1;
    tool_live_run(l, &lp);
    for (size_t i = 0; i < l->n; i++) {
        ami_state_link_free(l->sv[i].link);
        ami_async_free(l->sv[i].a);
        ami_state_free(l->sv[i].st);
        l->sv[i].link = NULL;
        l->sv[i].a = NULL;
        l->sv[i].st = NULL;
        l->h[i] = NULL;
    }
}
