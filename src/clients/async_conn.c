/*
 * The connection life cycle of the event-loop client: non-blocking
 * connect to each resolved address, banner, login (plain or MD5), filters
 * and event mask, keepalive, and reconnect with backoff after any loss.
 * Each step is a session action with a deadline; nothing here waits.
 */
#include "async_internal.h"
#include "backoff.h"
#include "login.h"
#include "session_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum req_kind { REQ_APP, REQ_CHALLENGE, REQ_LOGIN, REQ_FILTER, REQ_EVENTS, REQ_PING, REQ_LOGOFF };

/* One per action handed to the session: routes the result back here. */
typedef struct req {
    ami_async *a;
    int kind;
    unsigned gen;
    ami_async_result_cb cb;
    void *ud;
} req;

static void on_result(ami_session *s, ami_result *r, void *user_data);
static void connected(ami_async *a, uint64_t now);

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int send_req(ami_async *a, const ami_action *act, uint64_t deadline, int kind,
                    ami_async_result_cb cb, void *ud, const char **id_out)
{
    req *q = ami__calloc(1, sizeof *q);
    if (!q)
        return AMI_ERR_NOMEM;
    q->a = a;
    q->kind = kind;
    q->gen = a->gen;
    q->cb = cb;
    q->ud = ud;
    int rc = ami_session_send(a->session, act, deadline, on_result, q, id_out);
    if (rc != 0) {
        ami__async_set_err(a, "cannot send %s: %s", ami_action_name(act),
                           ami_session_errmsg(a->session));
        ami__free(q);
    }
    return rc;
}

int ami__async_submit(ami_async *a, const ami_action *act, uint64_t deadline,
                      ami_async_result_cb cb, void *ud, const char **id_out)
{
    int kind = REQ_APP;
    const char *name = ami_action_name(act);
    if (a->logging_off && name && ami__key_equals(name, strlen(name), "Logoff"))
        kind = REQ_LOGOFF;
    return send_req(a, act, deadline, kind, cb, ud, id_out);
}

int ami__async_cancel(ami_async *a, const char *action_id)
{
    const req *q = a->session ? ami__session_pending_data(a->session, action_id, on_result) : NULL;
    if (!q || q->kind != REQ_APP) {
        ami__async_set_err(a, "cannot cancel ActionID %s: no such action is pending", action_id);
        return AMI_ERR_INVALID;
    }
    /* The result callback runs from inside the session: losses it
     * triggers are deferred until the session call returns. */
    a->in_sess++;
    int rc = ami_session_cancel(a->session, action_id);
    a->in_sess--;
    return rc;
}

static uint64_t login_deadline(const ami_async *a)
{
    return a->phase_deadline;
}

int ami__async_send_filter(ami_async *a, const char *filter, ami_async_result_cb cb, void *ud,
                           int internal)
{
    ami_action *act = NULL;
    int rc = ami_action_create(&act, "Filter");
    if (rc == 0)
        rc = ami_action_add(act, "Operation", "Add");
    if (rc == 0)
        rc = ami_action_add(act, "Filter", filter);
    if (rc == 0)
        rc = send_req(a, act,
                      internal ? login_deadline(a) : ami__monotonic_ms() + (uint64_t)a->login_ms,
                      internal ? REQ_FILTER : REQ_APP, cb, ud, NULL);
    ami_action_free(act);
    return rc;
}

/* --------------------------------------------------------- teardown */

void ami__async_teardown(ami_async *a, int code, const char *msg)
{
    a->gen++;
    a->tearing++;
    if (a->conn.fd >= 0) {
        /* Watchers go first: some loops misbehave when a watched fd is
         * closed under them (libev, libuv). */
        if (a->watch_cb && a->rep_fd == a->conn.fd && !a->freeing) {
            a->rep_valid = 1;
            a->rep_fd = -1;
            a->rep_events = 0;
            a->in_cb++;
            a->watch_cb(a, -1, 0, -1, a->watch_ud);
            a->in_cb--;
        }
        a->conn.tp->close(&a->conn);
    }
    if (a->addrs) {
        freeaddrinfo(a->addrs);
        a->addrs = a->cur_addr = NULL;
    }
    if (a->session) {
        ami_session *s = a->session;
        /* Pending actions fail now, with the reason; their callbacks see a
         * handle that no longer accepts actions. */
        a->in_sess++;
        ami_session_disconnected(s, code, msg);
        a->in_sess--;
        ami_packet *p;
        while (ami_session_next_event(s, &p) == 1) {
            if (ami__event_queue_push_owned(&a->carry, p) != 0)
                ami_packet_free(p); /* out of memory: the gap notice covers it */
        }
        a->session = NULL;
        a->in_sess++;
        ami_session_free(s);
        a->in_sess--;
    }
    if (a->paused) {
        a->paused = 0;
        a->stats.paused_ms += ami__monotonic_ms() - a->paused_since;
    }
    a->ping_out = 0;
    a->saw_shutdown = 0;
    a->eof_pending = 0;
    a->close_pending = 0;
    a->tearing--;
}

static void schedule_retry(ami_async *a, ami_async_reason why, int code, uint64_t now)
{
    /* A certificate that did not verify will not verify on retry either,
     * and retrying would keep talking to what may be an impostor. */
    int give_up = a->stop_requested || !a->reconnect || why == AMI_ASYNC_REASON_NOMEM ||
                  why == AMI_ASYNC_REASON_STOPPED || code == AMI_ERR_TLS_VERIFY ||
                  (why == AMI_ASYNC_REASON_AUTH && !a->retry_auth);
    if (give_up) {
        a->phase = PH_STOPPED;
        ami__async_set_state(
            a, AMI_ASYNC_STOPPED,
            a->logging_off && why == AMI_ASYNC_REASON_EOF ? AMI_ASYNC_REASON_GOODBYE : why);
        return;
    }
    uint64_t delay = ami__backoff_delay(a->attempt, (uint64_t)a->backoff_initial_ms,
                                        (uint64_t)a->backoff_max_ms, &a->rng);
    a->attempt++;
    a->retry_at = now + delay;
    a->phase = PH_WAIT;
    ami__async_set_state(a, AMI_ASYNC_DISCONNECTED, why);
}

static void lose_now(ami_async *a, ami_async_reason why, int code, const char *msg)
{
    int was_up = a->phase == PH_UP;
    ami__async_set_err(a, "%s", msg);
    a->last_error = code;
    a->phase = PH_WAIT; /* refuse sends from the callbacks run below */
    if (was_up) {
        a->stats.disconnects++;
        if (!a->gap_open) {
            a->gap_open = 1;
            a->gap_reason = why;
            snprintf(a->gap_msg, sizeof a->gap_msg, "%s", msg);
            a->gap_wall_ms = wall_ms();
            a->gap_mono_ms = ami__monotonic_ms();
            a->gap_attempts = 0;
        }
    }
    ami__async_teardown(a, code, msg);
    if (a->freeing)
        return;
    schedule_retry(a, why, code, ami__monotonic_ms());
}

void ami__async_lose(ami_async *a, ami_async_reason why, int code, const char *msg)
{
    if (a->in_sess) {
        ami__async_defer_loss(a, why, code, msg);
        return;
    }
    lose_now(a, why, code, msg);
}

void ami__async_run_pending(ami_async *a)
{
    if (a->close_pending && !a->in_sess) {
        char msg[sizeof a->close_msg];
        memcpy(msg, a->close_msg, sizeof msg);
        lose_now(a, a->close_reason, a->close_code, msg);
    }
}

/* ---------------------------------------------------------- connect */

static void try_addresses(ami_async *a, uint64_t now)
{
    char last[AMI__ASYNC_ERRLEN];
    snprintf(last, sizeof last, "connect to %s failed: no usable address", a->where);
    int code = AMI_ERR_CONNECT;
    for (; a->cur_addr; a->cur_addr = a->cur_addr->ai_next) {
        int sys = 0;
        int rc = ami__connect_start(&a->conn, a->cur_addr, &sys);
        if (rc == (int)AMI__NET_AGAIN)
            return; /* wait until writable */
        if (rc == 0) {
            ami__async_on_connect_ready(a, now);
            return;
        }
        char where[300];
        ami__describe_addr(a->cur_addr, where, sizeof where);
        snprintf(last, sizeof last, "connect to %s failed: %s", where, strerror(sys));
        code = rc;
    }
    lose_now(a, AMI_ASYNC_REASON_CONNECT, code, last);
}

void ami__async_begin_attempt(ami_async *a, uint64_t now)
{
    a->phase = PH_CONNECT;
    a->gap_attempts++;
    a->phase_deadline = now + (uint64_t)a->connect_ms;
    ami__async_set_state(a, AMI_ASYNC_CONNECTING, AMI_ASYNC_REASON_NONE);
    if (a->phase != PH_CONNECT)
        return; /* the state callback stopped or freed us */
    ami__conn_use(&a->conn, a->tls);
    char err[AMI__ASYNC_ERRLEN];
    int rc = ami__resolve(a->host, a->port, &a->addrs, err, sizeof err);
    if (rc != 0) {
        lose_now(a, rc == AMI_ERR_NOMEM ? AMI_ASYNC_REASON_NOMEM : AMI_ASYNC_REASON_CONNECT, rc,
                 err);
        return;
    }
    a->cur_addr = a->addrs;
    try_addresses(a, now);
}

void ami__async_on_connect_ready(ami_async *a, uint64_t now)
{
    if (a->phase != PH_CONNECT || a->conn.fd < 0)
        return;
    int sys = 0;
    if (ami__connect_finish(&a->conn, &sys) != 0) {
        a->conn.tp->close(&a->conn);
        char where[300];
        ami__describe_addr(a->cur_addr, where, sizeof where);
        ami__async_set_err(a, "connect to %s failed: %s", where, strerror(sys));
        a->cur_addr = a->cur_addr->ai_next;
        if (a->cur_addr) {
            try_addresses(a, now);
        } else {
            char msg[AMI__ASYNC_ERRLEN];
            memcpy(msg, a->errmsg, sizeof msg);
            lose_now(a, AMI_ASYNC_REASON_CONNECT,
                     sys == ECONNREFUSED ? AMI_ERR_REFUSED : AMI_ERR_CONNECT, msg);
        }
        return;
    }
    freeaddrinfo(a->addrs);
    a->addrs = a->cur_addr = NULL;
    if (a->conn.tp->handshake) {
        a->phase = PH_TLS;
        ami__async_tls_step(a, now);
        return;
    }
    connected(a, now);
}

void ami__async_tls_step(ami_async *a, uint64_t now)
{
    if (a->phase != PH_TLS || a->conn.fd < 0)
        return;
    char err[AMI__ASYNC_ERRLEN];
    unsigned want = 0;
    int rc = a->conn.tp->handshake(&a->conn, a->host, a->port, &want, err, sizeof err);
    if (rc == (int)AMI__NET_AGAIN) {
        a->tls_want = want;
        return;
    }
    if (rc != 0) {
        lose_now(a, rc == AMI_ERR_NOMEM ? AMI_ASYNC_REASON_NOMEM : AMI_ASYNC_REASON_CONNECT, rc,
                 err);
        return;
    }
    connected(a, now);
}

/* The byte stream is ready (TCP connected, TLS established). */
static void connected(ami_async *a, uint64_t now)
{
    int rc = ami_session_create(&a->session);
    if (rc != 0) {
        lose_now(a, AMI_ASYNC_REASON_NOMEM, rc, "out of memory creating the session");
        return;
    }
    ami_session_set_queue_limits(a->session, a->max_events, a->max_bytes);
    ami_session_set_wire_cb(a->session, a->wire_cb, a->wire_ud);
    ami__session_set_event_filter(a->session, ami__async_direct, a);
    a->phase = PH_BANNER;
    a->last_rx = now;
}

/* ------------------------------------------------------------ login */

static ami_action *make_action(const char *name)
{
    ami_action *act = NULL;
    return ami_action_create(&act, name) == 0 ? act : NULL;
}

/* What login.c needs to know; the Login says Events: off while filters
 * are to be applied, so no unfiltered event slips through between Login
 * and Filter (after_login switches the mask on). */
static ami__login login_of(const ami_async *a)
{
    ami__login l = {a->user, a->secret, a->nfilters ? "off" : a->events_mask, a->login_flags,
                    a->where};
    return l;
}

/* Send a Challenge or Login built by login.c (and free it). */
static void send_login_step(ami_async *a, ami_action *act)
{
    int challenge = ami__login_is_challenge(act);
    int rc = send_req(a, act, login_deadline(a), challenge ? REQ_CHALLENGE : REQ_LOGIN, NULL, NULL,
                      NULL);
    ami_action_free(act);
    if (rc != 0)
        ami__async_lose(a, rc == AMI_ERR_NOMEM ? AMI_ASYNC_REASON_NOMEM : AMI_ASYNC_REASON_AUTH, rc,
                        challenge ? "cannot send Challenge" : "cannot send Login");
}

static void start_login(ami_async *a, uint64_t now)
{
    a->phase = PH_LOGIN;
    a->phase_deadline = now + (uint64_t)a->login_ms;
    ami__async_set_state(a, AMI_ASYNC_LOGGING_IN, AMI_ASYNC_REASON_NONE);
    if (a->phase != PH_LOGIN)
        return;
    const ami__login l = login_of(a);
    ami_action *act = NULL;
    char msg[AMI__ASYNC_ERRLEN];
    int rc = ami__login_start(&l, &act, msg, sizeof msg);
    if (rc != 0) {
        ami__async_lose(a, rc == AMI_ERR_NOMEM ? AMI_ASYNC_REASON_NOMEM : AMI_ASYNC_REASON_AUTH, rc,
                        msg);
        return;
    }
    send_login_step(a, act);
}

static void push_gap(ami_async *a)
{
    char text[1024];
    uint64_t now_wall = wall_ms();
    uint64_t gap = ami__monotonic_ms() - a->gap_mono_ms;
    int n = snprintf(text, sizeof text,
                     "Event: " AMI_ASYNC_GAP_EVENT "\r\nServer: %s\r\nReason: %s\r\n"
                     "Message: %.300s\r\nDisconnectedAt: %llu.%03u\r\n"
                     "ReconnectedAt: %llu.%03u\r\nGapMs: %llu\r\nAttempts: %u\r\n\r\n",
                     a->where, ami_async_reason_name(a->gap_reason), a->gap_msg,
                     (unsigned long long)(a->gap_wall_ms / 1000), (unsigned)(a->gap_wall_ms % 1000),
                     (unsigned long long)(now_wall / 1000), (unsigned)(now_wall % 1000),
                     (unsigned long long)gap, a->gap_attempts);
    if (n <= 0 || (size_t)n >= sizeof text)
        return;
    /* Built with the parser, so the notice is a packet like any other. */
    ami_parser *p = NULL;
    const ami_packet *pkt = NULL;
    ami_packet *copy = NULL;
    if (ami_parser_create(&p, 0) == 0 && ami_parser_feed(p, text, (size_t)n) == 0 &&
        ami_parser_next(p, &pkt) == 1 && ami_packet_dup(pkt, &copy) == 0) {
        if (ami__event_queue_push_owned(&a->carry, copy) != 0)
            ami_packet_free(copy);
        else
            a->stats.gaps++;
    }
    ami_parser_free(p);
}

static void go_up(ami_async *a, uint64_t now)
{
    a->phase = PH_UP;
    a->attempt = 0;
    a->ping_out = 0;
    a->ping_check_at = a->ka_interval_ms ? now + (uint64_t)a->ka_interval_ms : 0;
    a->stats.connects++;
    if (a->gap_open) {
        push_gap(a);
        a->gap_open = 0;
    }
    a->gap_attempts = 0;
    a->had_up = 1;
    ami__async_set_err(a, "no error");
    ami__async_set_state(a, AMI_ASYNC_UP, AMI_ASYNC_REASON_NONE);
}

static void after_login(ami_async *a)
{
    if (!a->nfilters) {
        go_up(a, ami__monotonic_ms());
        return;
    }
    for (size_t i = 0; i < a->nfilters; i++)
        if (ami__async_send_filter(a, a->filters[i], NULL, NULL, 1) != 0) {
            ami__async_lose(a, AMI_ASYNC_REASON_NOMEM, AMI_ERR_NOMEM, "cannot send Filter");
            return;
        }
    ami_action *act = make_action("Events");
    int rc = act ? ami_action_add(act, "EventMask", a->events_mask) : AMI_ERR_NOMEM;
    if (rc == 0)
        rc = send_req(a, act, login_deadline(a), REQ_EVENTS, NULL, NULL, NULL);
    ami_action_free(act);
    if (rc != 0)
        ami__async_lose(a, AMI_ASYNC_REASON_NOMEM, rc, "cannot send Events");
}

/* Failure of a login step: the reason the state callback will see. */
static void login_failed(ami_async *a, const char *step, ami_result *r)
{
    int st = ami_result_status(r);
    char msg[AMI__ASYNC_ERRLEN];
    if (st == AMI_ERR_ACTION_FAILED) {
        snprintf(msg, sizeof msg, "%s refused by %s for user '%s': %s", step, a->where, a->user,
                 ami_result_message(r));
        ami__async_lose(a, AMI_ASYNC_REASON_AUTH, AMI_ERR_AUTH, msg);
    } else if (st == AMI_ERR_TIMEOUT) {
        snprintf(msg, sizeof msg, "no answer to %s from %s within %d ms", step, a->where,
                 a->login_ms);
        ami__async_lose(a, AMI_ASYNC_REASON_TIMEOUT, AMI_ERR_TIMEOUT, msg);
    } else {
        snprintf(msg, sizeof msg, "%s on %s: %s", step, a->where, ami_result_message(r));
        ami__async_lose(a, AMI_ASYNC_REASON_PROTOCOL, st, msg);
    }
}

static void on_internal(ami_async *a, req *q, ami_result *r)
{
    int st = ami_result_status(r);
    switch (q->kind) {
    case REQ_CHALLENGE:
    case REQ_LOGIN: {
        const ami__login l = login_of(a);
        ami_action *next = NULL;
        char msg[AMI__ASYNC_ERRLEN];
        msg[0] = '\0';
        int rc = q->kind == REQ_CHALLENGE ? ami__login_on_challenge(&l, r, &next, msg, sizeof msg)
                                          : ami__login_on_login(&l, r, msg, sizeof msg);
        if (rc == 0 && next)
            send_login_step(a, next);
        else if (rc == 0)
            after_login(a);
        else if (msg[0])
            ami__async_lose(a,
                            rc == AMI_ERR_PROTOCOL ? AMI_ASYNC_REASON_PROTOCOL
                            : rc == AMI_ERR_NOMEM  ? AMI_ASYNC_REASON_NOMEM
                                                   : AMI_ASYNC_REASON_AUTH,
                            rc, msg);
        else
            login_failed(a, q->kind == REQ_CHALLENGE ? "Challenge" : "Login", r);
        return;
    }
    case REQ_FILTER:
        if (st != 0)
            ami__async_set_err(a, "re-applying a filter on %s failed: %s", a->where,
                               ami_result_message(r));
        return;
    case REQ_EVENTS:
        if (st != 0)
            login_failed(a, "Events", r);
        else
            go_up(a, ami__monotonic_ms());
        return;
    case REQ_PING:
        a->ping_out = 0;
        if (st == AMI_ERR_TIMEOUT && !a->paused) {
            char msg[AMI__ASYNC_ERRLEN];
            snprintf(msg, sizeof msg, "no answer to the keepalive Ping from %s within %d ms",
                     a->where, a->ka_timeout_ms);
            ami__async_lose(a, AMI_ASYNC_REASON_TIMEOUT, AMI_ERR_TIMEOUT, msg);
        }
        return;
    default:
        return;
    }
}

static void on_result(ami_session *s, ami_result *r, void *user_data)
{
    AMI__UNUSED(s);
    req *q = user_data;
    ami_async *a = q->a;
    if (q->kind == REQ_APP || q->kind == REQ_LOGOFF) {
        if (q->kind == REQ_LOGOFF && q->gen == a->gen && !a->freeing) {
            int bye = ami_packet_response_type(ami_result_response(r)) == AMI_RESPONSE_GOODBYE;
            ami__async_lose(a, bye ? AMI_ASYNC_REASON_GOODBYE : AMI_ASYNC_REASON_STOPPED,
                            AMI_ERR_CLOSED, bye ? "logged off (Goodbye)" : "logged off");
        }
        if (q->cb) {
            a->in_cb++;
            q->cb(a, r, q->ud);
            a->in_cb--;
        } else {
            ami_result_free(r);
        }
    } else {
        if (q->gen == a->gen && !a->freeing)
            on_internal(a, q, r);
        ami_result_free(r);
    }
    ami__free(q);
}

/* ------------------------------------------------------- bytes, time */

void ami__async_on_bytes(ami_async *a, uint64_t now)
{
    if (a->phase == PH_BANNER && a->session && !a->close_pending && ami_session_banner(a->session))
        start_login(a, now);
}

static void send_ping(ami_async *a, uint64_t now)
{
    ami_action *act = make_action("Ping");
    if (act && send_req(a, act, now + (uint64_t)a->ka_timeout_ms, REQ_PING, NULL, NULL, NULL) == 0)
        a->ping_out = 1;
    ami_action_free(act);
}

void ami__async_timers(ami_async *a, uint64_t now)
{
    switch (a->phase) {
    case PH_CONNECT:
    case PH_TLS:
    case PH_BANNER:
        if (now >= a->phase_deadline) {
            char msg[AMI__ASYNC_ERRLEN];
            snprintf(msg, sizeof msg,
                     a->phase == PH_CONNECT ? "connect to %s timed out after %d ms"
                     : a->phase == PH_TLS   ? "TLS handshake with %s timed out after %d ms"
                                            : "no AMI banner from %s within %d ms",
                     a->where, a->connect_ms);
            lose_now(a, AMI_ASYNC_REASON_TIMEOUT, AMI_ERR_TIMEOUT, msg);
        }
        return;
    case PH_LOGIN:
    case PH_UP:
        a->in_sess++;
        ami_session_tick(a->session, now);
        a->in_sess--;
        ami__async_run_pending(a);
        if (a->phase != PH_UP || !a->ka_interval_ms || !a->ping_check_at || now < a->ping_check_at)
            return;
        if (a->ping_out || a->paused) {
            a->ping_check_at = now + (uint64_t)a->ka_interval_ms;
        } else if (now >= a->last_rx + (uint64_t)a->ka_interval_ms) {
            send_ping(a, now);
            a->ping_check_at = now + (uint64_t)a->ka_interval_ms;
        } else {
            a->ping_check_at = a->last_rx + (uint64_t)a->ka_interval_ms;
        }
        return;
    case PH_WAIT:
        if (now >= a->retry_at)
            ami__async_begin_attempt(a, now);
        return;
    default:
        return;
    }
}

uint64_t ami__async_conn_deadline(const ami_async *a)
{
    uint64_t d = AMI_NO_DEADLINE;
    switch (a->phase) {
    case PH_CONNECT:
    case PH_TLS:
    case PH_BANNER:
        return a->phase_deadline;
    case PH_LOGIN:
    case PH_UP:
        d = ami_session_next_deadline(a->session);
        if (a->phase == PH_UP && a->ka_interval_ms && a->ping_check_at && a->ping_check_at < d)
            d = a->ping_check_at;
        return d;
    case PH_WAIT:
        return a->retry_at;
    default:
        return d;
    }
}
