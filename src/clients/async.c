/*
 * The event-loop client: lifetime, options, getters and the loop-facing
 * calls. Every public entry point goes through enter/leave so that work
 * the session refuses inside its own callbacks (closing, freeing) is done
 * once the outermost call unwinds, and the watch callback learns about
 * every change exactly when it happens (c-ares' ares_process_fds model:
 * the loop is told what to wait for, libami never polls on a timer).
 */
#include "async_internal.h"
#include "action.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int ami_async_create(ami_async **out)
{
    if (!out)
        return AMI_ERR_INVALID;
    *out = NULL;
    ami_async *a = ami__calloc(1, sizeof *a);
    if (!a)
        return AMI_ERR_NOMEM;
    a->events_mask = ami__strdup(AMI_EVENTS_DEFAULT);
    if (!a->events_mask) {
        ami__free(a);
        return AMI_ERR_NOMEM;
    }
    ami__conn_init(&a->conn, &ami__tcp_transport);
    ami__event_queue_init(&a->carry);
    a->phase = PH_IDLE;
    a->state = AMI_ASYNC_IDLE;
    a->connect_ms = 5000;
    a->login_ms = 5000;
    a->reconnect = 1;
    a->backoff_initial_ms = 500;
    a->backoff_max_ms = 30000;
    a->budget_ms = 5;
    a->rep_fd = -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    a->rng = (uint64_t)(uintptr_t)a ^ ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
             ((uint64_t)getpid() << 40);
    snprintf(a->errmsg, sizeof a->errmsg, "no error");
    *out = a;
    return 0;
}

static void really_free(ami_async *a)
{
    a->freeing = 1;
    a->stop_requested = 1;
    a->in_cb++; /* application callbacks run below must not re-enter */
    ami__async_teardown(a, AMI_ERR_CANCELLED, "handle freed");
    if (a->watch_cb)
        a->watch_cb(a, -1, AMI_ASYNC_FREED, -1, a->watch_ud);
    a->in_cb--;
    ami__event_queue_free(&a->carry);
    if (a->addrs)
        freeaddrinfo(a->addrs);
    for (size_t i = 0; i < a->nfilters; i++)
        ami__free(a->filters[i]);
    ami__free(a->filters);
    if (a->secret)
        memset(a->secret, 0, strlen(a->secret));
    ami__free(a->secret);
    ami__free(a->user);
    ami__free(a->host);
    ami__free(a->events_mask);
    ami_tls_config_free(a->tls);
    ami__free(a);
}

void ami_async_free(ami_async *a)
{
    if (!a || a->freeing)
        return;
    if (a->depth || a->in_cb) {
        a->free_pending = 1;
        return;
    }
    really_free(a);
}

/* ------------------------------------------------------------- options */

static int replace_str(char **slot, const char *value)
{
    char *copy = ami__strdup(value);
    if (!copy)
        return AMI_ERR_NOMEM;
    if (*slot)
        memset(*slot, 0, strlen(*slot));
    ami__free(*slot);
    *slot = copy;
    return 0;
}

/* The action builder's own check, so these values are refused up front
 * exactly as they would be when the login or filter action is built. */
static int has_ctl(const char *s)
{
    return ami__check_value(s, strlen(s)) != 0;
}

int ami_async_set_server(ami_async *a, const char *host, unsigned port)
{
    if (!a || !host || !*host || port == 0 || port > 65535)
        return AMI_ERR_INVALID;
    int rc = replace_str(&a->host, host);
    if (rc != 0)
        return rc;
    a->port = port;
    ami__format_hostport(a->where, sizeof a->where, host, port);
    return 0;
}

int ami_async_set_tls(ami_async *a, const ami_tls_config *cfg)
{
    if (!a)
        return AMI_ERR_INVALID;
    return ami__tls_config_replace(&a->tls, cfg, a->errmsg, sizeof a->errmsg);
}

int ami_async_set_login(ami_async *a, const char *username, const char *secret, unsigned flags)
{
    if (!a || !username || !secret || (flags & ~(unsigned)AMI_LOGIN_MD5))
        return AMI_ERR_INVALID;
    if (has_ctl(username) || has_ctl(secret))
        return AMI_ERR_INJECTION;
    int rc = replace_str(&a->user, username);
    if (rc == 0)
        rc = replace_str(&a->secret, secret);
    if (rc == 0)
        a->login_flags = flags;
    return rc;
}

int ami_async_set_events(ami_async *a, const char *mask)
{
    if (!a)
        return AMI_ERR_INVALID;
    if (!mask)
        mask = AMI_EVENTS_DEFAULT;
    if (has_ctl(mask))
        return AMI_ERR_INJECTION;
    return replace_str(&a->events_mask, mask);
}

void ami_async_set_wire_cb(ami_async *a, ami_wire_cb cb, void *user_data)
{
    if (!a)
        return;
    a->wire_cb = cb;
    a->wire_ud = user_data;
    if (a->session)
        ami_session_set_wire_cb(a->session, cb, user_data);
}

void ami_async_set_event_cb(ami_async *a, ami_async_event_cb cb, void *user_data)
{
    if (!a)
        return;
    a->event_cb = cb;
    a->event_ud = user_data;
}

void ami_async_set_state_cb(ami_async *a, ami_async_state_cb cb, void *user_data)
{
    if (!a)
        return;
    a->state_cb = cb;
    a->state_ud = user_data;
}

void ami_async_set_watch_cb(ami_async *a, ami_async_watch_cb cb, void *user_data)
{
    if (!a)
        return;
    a->watch_cb = cb;
    a->watch_ud = user_data;
    a->rep_valid = 0;
    ami__async_enter(a);
    ami__async_leave(a);
}

void ami_async_set_timeouts(ami_async *a, int connect_ms, int login_ms)
{
    if (!a)
        return;
    a->connect_ms = connect_ms > 0 ? connect_ms : 5000;
    a->login_ms = login_ms > 0 ? login_ms : 5000;
}

void ami_async_set_reconnect(ami_async *a, int enabled, int initial_ms, int max_ms, int retry_auth)
{
    if (!a)
        return;
    a->reconnect = enabled != 0;
    a->backoff_initial_ms = initial_ms > 0 ? initial_ms : 500;
    a->backoff_max_ms = max_ms >= a->backoff_initial_ms ? max_ms : a->backoff_initial_ms;
    a->retry_auth = retry_auth != 0;
}

void ami_async_set_keepalive(ami_async *a, int interval_ms, int timeout_ms)
{
    if (!a)
        return;
    if (interval_ms <= 0 || timeout_ms <= 0)
        interval_ms = timeout_ms = 0;
    a->ka_interval_ms = interval_ms;
    a->ka_timeout_ms = timeout_ms;
    a->ping_check_at = interval_ms ? ami__monotonic_ms() + (uint64_t)interval_ms : 0;
    ami__async_enter(a);
    ami__async_leave(a);
}

void ami_async_set_queue(ami_async *a, size_t max_events, size_t max_bytes, int budget_ms)
{
    if (!a)
        return;
    a->max_events = max_events;
    a->max_bytes = max_bytes;
    a->budget_ms = budget_ms >= 0 ? budget_ms : 5;
    if (a->session)
        ami_session_set_queue_limits(a->session, max_events, max_bytes);
}

void ami_async_hold_events(ami_async *a, int hold)
{
    if (!a)
        return;
    a->hold = hold != 0;
    ami__async_enter(a);
    ami__async_leave(a);
}

void ami_async_stats_get(const ami_async *a, ami_async_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    *out = a->stats;
    out->queued = ami__async_queued(a);
    out->paused = a->paused;
    if (a->paused)
        out->paused_ms += ami__monotonic_ms() - a->paused_since;
}

/* ------------------------------------------------------------- control */

int ami_async_start(ami_async *a)
{
    if (!a || a->freeing)
        return AMI_ERR_INVALID;
    if (!a->host || !a->user || !a->secret) {
        ami__async_set_err(a, "set the server and the login before starting");
        return AMI_ERR_INVALID;
    }
    if (a->phase != PH_IDLE && a->phase != PH_STOPPED) {
        ami__async_set_err(a, "already started");
        return AMI_ERR_STATE;
    }
    /* Events nobody receives would be dropped without a trace. */
    if (!a->event_cb && !ami__key_equals(a->events_mask, strlen(a->events_mask), "off")) {
        ami__async_set_err(a,
                           "events are on (mask \"%s\") but nobody receives them: set an event "
                           "callback with ami_async_set_event_cb, or set the events mask to "
                           "\"off\"",
                           a->events_mask);
        return AMI_ERR_INVALID;
    }
    ami__async_enter(a);
    a->stop_requested = 0;
    a->logging_off = 0;
    a->attempt = 0;
    ami__async_begin_attempt(a, ami__monotonic_ms());
    ami__async_leave(a);
    return 0;
}

void ami_async_stop(ami_async *a)
{
    if (!a || a->freeing)
        return;
    ami__async_enter(a);
    a->stop_requested = 1;
    if (a->tearing) {
        /* The loss being handled ends in STOPPED: stop_requested says so. */
    } else if (a->phase == PH_WAIT || a->phase == PH_IDLE) {
        a->phase = PH_STOPPED;
        ami__async_set_err(a, "stopped by the application");
        ami__async_set_state(a, AMI_ASYNC_STOPPED, AMI_ASYNC_REASON_STOPPED);
    } else if (a->phase != PH_STOPPED) {
        ami__async_lose(a, AMI_ASYNC_REASON_STOPPED, AMI_ERR_DISCONNECTED,
                        "connection closed by the application");
    }
    ami__async_leave(a);
}

int ami_async_send(ami_async *a, const ami_action *action, int timeout_ms, ami_async_result_cb cb,
                   void *user_data, const char **id_out)
{
    if (id_out)
        *id_out = NULL;
    if (!a || !action || a->freeing)
        return AMI_ERR_INVALID;
    if (a->phase != PH_UP || a->logging_off) {
        ami__async_set_err(a, "cannot send %s: not logged in to %s (state %s)",
                           ami_action_name(action), a->where, ami_async_state_name(a->state));
        return AMI_ERR_STATE;
    }
    ami__async_enter(a);
    uint64_t deadline =
        timeout_ms < 0 ? AMI_NO_DEADLINE : ami__monotonic_ms() + (uint64_t)timeout_ms;
    int rc = ami__async_submit(a, action, deadline, cb, user_data, id_out);
    ami__async_leave(a);
    return rc;
}

int ami_async_cancel(ami_async *a, const char *action_id)
{
    if (!a || !action_id || a->freeing)
        return AMI_ERR_INVALID;
    ami__async_enter(a);
    int rc = ami__async_cancel(a, action_id);
    ami__async_leave(a);
    return rc;
}

int ami_async_add_filter(ami_async *a, const char *filter, ami_async_result_cb cb, void *user_data)
{
    if (!a || !filter || !*filter || a->freeing)
        return AMI_ERR_INVALID;
    if (has_ctl(filter))
        return AMI_ERR_INJECTION;
    int up = a->phase == PH_UP && !a->logging_off;
    if (!up && cb) {
        /* Applied at the next login; refusing the callback keeps its
         * contract (exactly once, or never when the call fails). */
        ami__async_set_err(a, "not logged in: pass a NULL callback to add a filter for later");
        return AMI_ERR_STATE;
    }
    char **grown = ami__realloc(a->filters, (a->nfilters + 1) * sizeof *grown);
    if (!grown)
        return AMI_ERR_NOMEM;
    a->filters = grown;
    char *copy = ami__strdup(filter);
    if (!copy)
        return AMI_ERR_NOMEM;
    if (up) {
        ami__async_enter(a);
        int rc = ami__async_send_filter(a, filter, cb, user_data, 0);
        if (rc != 0) {
            ami__free(copy);
            ami__async_leave(a);
            return rc;
        }
        a->filters[a->nfilters++] = copy;
        ami__async_leave(a);
        return 0;
    }
    a->filters[a->nfilters++] = copy;
    return 0;
}

int ami_async_logoff(ami_async *a)
{
    if (!a || a->freeing)
        return AMI_ERR_INVALID;
    if (a->phase != PH_UP || a->logging_off) {
        ami__async_set_err(a, "not logged in");
        return AMI_ERR_STATE;
    }
    ami__async_enter(a);
    ami_action *act = NULL;
    int rc = ami_action_create(&act, "Logoff");
    if (rc == 0) {
        a->stop_requested = 1;
        a->logging_off = 1;
        rc = ami__async_submit(a, act, ami__monotonic_ms() + (uint64_t)a->login_ms, NULL, NULL,
                               NULL);
        if (rc != 0)
            a->logging_off = 0;
    }
    ami_action_free(act);
    ami__async_leave(a);
    return rc;
}

/* ---------------------------------------------------------- event loop */

int ami_async_fd(const ami_async *a)
{
    return a ? a->conn.fd : -1;
}

unsigned ami_async_events(const ami_async *a)
{
    if (!a || a->conn.fd < 0)
        return 0;
    if (a->phase == PH_CONNECT)
        return AMI_ASYNC_WRITE;
    if (a->phase == PH_TLS)
        return a->tls_want == AMI__WANT_WRITE ? AMI_ASYNC_WRITE : AMI_ASYNC_READ;
    unsigned ev = a->paused || a->eof_pending ? 0 : AMI_ASYNC_READ;
    size_t len = 0;
    if (a->session)
        ami_session_output(a->session, NULL, &len);
    if (len)
        ev |= AMI_ASYNC_WRITE;
    return ev;
}

uint64_t ami_async_deadline(const ami_async *a)
{
    if (!a)
        return AMI_NO_DEADLINE;
    if (ami__async_backlog(a) || a->close_pending || a->eof_pending || ami__async_tp_pending(a))
        return AMI__DUE_NOW;
    return ami__async_conn_deadline(a);
}

int ami_async_timeout(const ami_async *a)
{
    uint64_t d = ami_async_deadline(a);
    if (d == AMI_NO_DEADLINE)
        return -1;
    uint64_t now = ami__monotonic_ms();
    if (d <= now)
        return 0;
    return d - now > INT_MAX ? INT_MAX : (int)(d - now);
}

uint64_t ami_async_now(void)
{
    return ami__monotonic_ms();
}

int ami_async_process(ami_async *a, unsigned events)
{
    if (!a || a->freeing)
        return AMI_ERR_INVALID;
    if (a->in_cb || a->depth) {
        ami__async_set_err(a, "ami_async_process is not allowed inside a callback");
        return AMI_ERR_STATE;
    }
    ami__async_enter(a);
    uint64_t now = ami__monotonic_ms();
    if (a->phase == PH_CONNECT && (events & (AMI_ASYNC_WRITE | AMI_ASYNC_READ)))
        ami__async_on_connect_ready(a, now);
    else if (a->phase == PH_TLS && (events & (AMI_ASYNC_WRITE | AMI_ASYNC_READ)))
        ami__async_tls_step(a, now);
    if (a->session && ((events & AMI_ASYNC_READ) || ami__async_tp_pending(a))) {
        ami__async_read(a, now);
        ami__async_on_bytes(a, now); /* a banner starts the login */
    }
    if (a->session && (events & AMI_ASYNC_WRITE))
        ami__async_flush(a);
    ami__async_run_pending(a);
    ami__async_timers(a, ami__monotonic_ms());
    ami__async_run_pending(a);
    ami__async_deliver(a);
    ami__async_finish_eof(a);
    ami__async_leave(a);
    return 0;
}

int ami_async_on_readable(ami_async *a)
{
    return ami_async_process(a, AMI_ASYNC_READ);
}

int ami_async_on_writable(ami_async *a)
{
    return ami_async_process(a, AMI_ASYNC_WRITE);
}

int ami_async_on_timeout(ami_async *a)
{
    return ami_async_process(a, 0);
}

/* ----------------------------------------------------- enter and leave */

void ami__async_enter(ami_async *a)
{
    a->depth++;
}

static void report_watch(ami_async *a)
{
    if (!a->watch_cb)
        return;
    int fd = a->conn.fd;
    unsigned ev = ami_async_events(a);
    uint64_t d = ami_async_deadline(a);
    if (a->rep_valid && fd == a->rep_fd && ev == a->rep_events && d == a->rep_deadline)
        return;
    a->rep_valid = 1;
    a->rep_fd = fd;
    a->rep_events = ev;
    a->rep_deadline = d;
    a->in_cb++;
    a->watch_cb(a, fd, ev, ami_async_timeout(a), a->watch_ud);
    a->in_cb--;
}

void ami__async_leave(ami_async *a)
{
    if (a->depth == 1 && !a->free_pending) {
        ami__async_run_pending(a);
        if (a->session)
            ami__async_flush(a);
        ami__async_run_pending(a);
        report_watch(a);
    }
    if (--a->depth == 0 && a->free_pending && !a->in_cb)
        really_free(a);
}

/* ------------------------------------------------------------- getters */

ami_async_state ami_async_get_state(const ami_async *a)
{
    return a ? a->state : AMI_ASYNC_IDLE;
}

const char *ami_async_state_name(ami_async_state s)
{
    switch (s) {
    case AMI_ASYNC_IDLE:
        return "IDLE";
    case AMI_ASYNC_CONNECTING:
        return "CONNECTING";
    case AMI_ASYNC_LOGGING_IN:
        return "LOGGING_IN";
    case AMI_ASYNC_UP:
        return "UP";
    case AMI_ASYNC_DISCONNECTED:
        return "DISCONNECTED";
    case AMI_ASYNC_STOPPED:
        return "STOPPED";
    }
    return "?";
}

const char *ami_async_reason_name(ami_async_reason r)
{
    static const char *const names[] = {"None",     "Goodbye", "Shutdown", "EOF",
                                        "Timeout",  "Auth",    "Connect",  "IO",
                                        "Protocol", "Stopped", "NoMemory"};
    if ((unsigned)r < sizeof names / sizeof names[0])
        return names[r];
    return "?";
}

int ami_async_last_error(const ami_async *a)
{
    return a ? a->last_error : AMI_ERR_INVALID;
}

const char *ami_async_errmsg(const ami_async *a)
{
    return a ? a->errmsg : "invalid handle (NULL)";
}

const char *ami_async_server(const ami_async *a)
{
    return a ? a->where : "";
}

ami_session *ami_async_session(ami_async *a)
{
    return a ? a->session : NULL;
}

void ami_async_set_data(ami_async *a, void *data)
{
    if (a)
        a->app_data = data;
}

void *ami_async_get_data(const ami_async *a)
{
    return a ? a->app_data : NULL;
}
