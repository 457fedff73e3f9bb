/*
 * The blocking client: a poll() loop over the sans-I/O session, the way
 * curl's easy interface is a loop over multi. All protocol work happens in
 * the session; this file only moves bytes and keeps the clock.
 */
#include "internal.h"
#include "login.h"
#include "sock.h"
#include "tls.h"

#include <ami/client.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Smallest read area worth a system call. Each read takes all the area
 * the parser's 64 KiB buffer offers; asking for a whole 64 KiB would
 * double the buffer as soon as a partial packet sits at its front. */
#define READ_MIN   (16u * 1024u)
#define ERRMSG_LEN 512
#define WHERE_LEN  300

enum client_state {
    ST_IDLE,      /* never connected */
    ST_CONNECTED, /* socket open */
    ST_CLOSED,    /* ended cleanly: Goodbye, then close */
    ST_BROKEN     /* ended by EOF, an I/O error, a protocol error or close() */
};

struct ami_client {
    ami_session *session;
    bool session_used; /* has seen a connection: a reconnect needs a fresh one */
    ami__conn conn;
    int state;
    int end_code;         /* why the connection ended, for the call that saw it */
    bool in_pump;         /* an event callback is running inside our loop */
    bool close_requested; /* ami_client_close from inside a callback */
    bool read_full;       /* the last read filled its area: more is likely waiting */
    ami_event_cb event_cb;
    void *event_ud;
    ami_wire_cb wire_cb;
    void *wire_ud;
    ami_tls_config *tls;      /* NULL: plain TCP */
    char where[WHERE_LEN];    /* host:port, for messages */
    char end_msg[ERRMSG_LEN]; /* why the last connection ended */
    char errmsg[ERRMSG_LEN];
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
set_err(ami_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
}

static uint64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? AMI_NO_DEADLINE : ami__monotonic_ms() + (uint64_t)timeout_ms;
}

int ami_client_create(ami_client **out)
{
    if (!out)
        return AMI_ERR_INVALID;
    *out = NULL;
    ami_client *c = ami__calloc(1, sizeof *c);
    if (!c)
        return AMI_ERR_NOMEM;
    int rc = ami_session_create(&c->session);
    if (rc != 0) {
        ami__free(c);
        return rc;
    }
    ami__conn_init(&c->conn, &ami__tcp_transport);
    c->state = ST_IDLE;
    snprintf(c->errmsg, sizeof c->errmsg, "no error");
    *out = c;
    return 0;
}

/* Close the socket and fail whatever is pending in the session. */
static void end_connection(ami_client *c, int state, int code, const char *message)
{
    if (c->conn.fd >= 0)
        c->conn.tp->close(&c->conn);
    c->state = state;
    c->end_code = code;
    snprintf(c->end_msg, sizeof c->end_msg, "%s", message ? message : ami_strerror(code));
    /* Pending actions learn the precise reason; a clean close after
     * Goodbye still fails leftovers as a disconnect. */
    ami_session_disconnected(c->session, code == AMI_ERR_CLOSED ? AMI_ERR_DISCONNECTED : code,
                             message);
}

void ami_client_close(ami_client *c)
{
    if (!c || c->state != ST_CONNECTED)
        return;
    /* The session refuses to be torn down from inside its own callback:
     * finish the close once the callback has returned. */
    if (c->in_pump) {
        c->close_requested = true;
        return;
    }
    c->close_requested = false;
    char msg[ERRMSG_LEN];
    snprintf(msg, sizeof msg, "connection to %s closed by the application", c->where);
    end_connection(c, ST_BROKEN, AMI_ERR_DISCONNECTED, msg);
}

void ami_client_free(ami_client *c)
{
    if (!c)
        return;
    ami_client_close(c);
    ami_session_free(c->session);
    ami_tls_config_free(c->tls);
    ami__free(c);
}

/* The error a call gets when there is no live connection. */
static int not_connected(ami_client *c)
{
    switch (c->state) {
    case ST_IDLE:
        set_err(c, "not connected (call ami_client_connect first)");
        return AMI_ERR_STATE;
    case ST_CLOSED:
        set_err(c, "the connection to %s was closed after Goodbye", c->where);
        return AMI_ERR_CLOSED;
    default:
        /* The call that saw the connection end may not be this one: keep
         * telling the precise reason (a protocol error, a TLS alert, ...). */
        if (c->end_code < 0 && c->end_msg[0]) {
            set_err(c, "no longer connected: %s", c->end_msg);
            return c->end_code;
        }
        set_err(c, "no longer connected to %s (the connection was lost or closed)", c->where);
        return AMI_ERR_DISCONNECTED;
    }
}

/* Refuse blocking calls from inside an event callback: the session is in
 * the middle of recv and would refuse them anyway, less clearly. */
static int check_usable(ami_client *c)
{
    if (c->in_pump) {
        set_err(c, "not allowed inside an event callback");
        return AMI_ERR_STATE;
    }
    return c->state == ST_CONNECTED ? 0 : not_connected(c);
}

static void on_eof(ami_client *c)
{
    char msg[ERRMSG_LEN];
    if (c->wire_cb)
        c->wire_cb(AMI_WIRE_EOF, "", 0, c->wire_ud);
    if (ami_session_got_goodbye(c->session)) {
        snprintf(msg, sizeof msg, "connection to %s closed by the server after Goodbye", c->where);
        end_connection(c, ST_CLOSED, AMI_ERR_CLOSED, msg);
    } else {
        snprintf(msg, sizeof msg, "connection to %s closed by the server", c->where);
        end_connection(c, ST_BROKEN, AMI_ERR_DISCONNECTED, msg);
    }
    set_err(c, "%s", msg);
}

static void on_io_error(ami_client *c, const char *what, long code)
{
    char msg[ERRMSG_LEN];
    /* A TLS failure (an alert, a bad record) says more than errno. */
    if (code == AMI_ERR_TLS && c->conn.tp_err[0])
        snprintf(msg, sizeof msg, "%s", c->conn.tp_err);
    else
        snprintf(msg, sizeof msg, "%s %s failed: %s", what, c->where, strerror(c->conn.sys_errno));
    end_connection(c, ST_BROKEN, code == AMI_ERR_TLS ? AMI_ERR_TLS : AMI_ERR_DISCONNECTED, msg);
    set_err(c, "%s", msg);
}

static void on_session_error(ami_client *c, int code)
{
    char msg[ERRMSG_LEN];
    snprintf(msg, sizeof msg, "connection to %s: %s", c->where, ami_session_errmsg(c->session));
    end_connection(c, ST_BROKEN, code, msg);
    set_err(c, "%s", msg);
}

/* Parse packets already buffered in the session (left there while its
 * event queue was full); callbacks may run. */
static void drain_buffered(ami_client *c, uint64_t now)
{
    if (c->state != ST_CONNECTED || ami_session_is_paused(c->session))
        return;
    c->in_pump = true;
    long n = ami_session_recv(c->session, NULL, 0, now);
    c->in_pump = false;
    if (n < 0)
        on_session_error(c, (int)n);
}

/* Write all pending output the socket takes without blocking. */
static void flush(ami_client *c)
{
    while (c->state == ST_CONNECTED) {
        const char *data = NULL;
        size_t len = 0;
        ami_session_output(c->session, &data, &len);
        if (len == 0)
            return;
        long n = c->conn.tp->write(&c->conn, data, len);
        if (n == AMI__NET_AGAIN)
            return;
        if (n < 0) {
            on_io_error(c, "sending to", n);
            return;
        }
        ami_session_consume(c->session, (size_t)n);
    }
}

/*
 * Read straight into the session's parser buffer (no intermediate copy).
 * While the session is paused by a full event queue nothing is read: the
 * bytes wait in the kernel, which is the back-pressure the server sees.
 * Returns false when nothing happened (paused, or no bytes waiting).
 */
static bool read_some(ami_client *c, uint64_t now)
{
    char *area;
    size_t avail;
    c->read_full = false;
    int rc = ami_session_recv_reserve(c->session, READ_MIN, &area, &avail);
    if (rc == AMI_ERR_QUEUE_FULL)
        return false;
    if (rc < 0) {
        on_session_error(c, rc);
        return true;
    }
    long n = c->conn.tp->read(&c->conn, area, avail);
    if (n > 0) {
        c->read_full = (size_t)n == avail;
        c->in_pump = true;
        rc = ami_session_recv_commit(c->session, (size_t)n, now);
        c->in_pump = false;
        if (rc < 0)
            on_session_error(c, rc);
    } else if (n == 0) {
        on_eof(c);
    } else if (n != AMI__NET_AGAIN) {
        on_io_error(c, "reading from", n);
    } else {
        return false;
    }
    return true;
}

typedef bool (*until_fn)(ami_client *c, void *arg);

/*
 * Move bytes until until() holds. Returns 0 then; AMI_ERR_TIMEOUT once
 * `deadline` passed; AMI_ERR_QUEUE_FULL when the session refuses more bytes
 * because the application is not taking events; or, when the connection
 * ended, the reason (c->end_code). Session deadlines are honoured on the
 * way, so a call's own action times out through the session.
 */
static int pump(ami_client *c, until_fn until, void *arg, uint64_t deadline)
{
    for (;;) {
        uint64_t now = ami__monotonic_ms();
        drain_buffered(c, now);
        if (c->close_requested)
            ami_client_close(c);
        if (until(c, arg))
            return 0;
        if (c->state != ST_CONNECTED)
            return c->end_code;
        if (ami_session_is_paused(c->session))
            return AMI_ERR_QUEUE_FULL;
        flush(c);
        ami_session_tick(c->session, now);
        if (until(c, arg))
            return 0;
        if (c->state != ST_CONNECTED)
            return c->end_code;
        if (deadline != AMI_NO_DEADLINE && now >= deadline)
            return AMI_ERR_TIMEOUT;
        /* Bytes TLS already decoded are invisible to poll(): take them
         * first. */
        if (c->conn.tp->pending && c->conn.tp->pending(&c->conn) > 0) {
            read_some(c, now);
            continue;
        }
        /* A read that filled its area leaves more in the socket, as a
         * firehose does: read again without a poll() first (an empty
         * socket answers AGAIN and the poll below waits as usual). */
        if (c->read_full && read_some(c, now))
            continue;

        uint64_t wake = ami_session_next_deadline(c->session);
        if (deadline < wake)
            wake = deadline;
        int wait = -1;
        if (wake != AMI_NO_DEADLINE)
            wait = wake <= now ? 0 : (wake - now > INT_MAX ? INT_MAX : (int)(wake - now));
        const char *out = NULL;
        size_t out_len = 0;
        ami_session_output(c->session, &out, &out_len);
        struct pollfd pfd = {.fd = c->conn.fd, .events = POLLIN};
        if (out_len > 0)
            pfd.events |= POLLOUT;
        int n = poll(&pfd, 1, wait);
        if (n < 0 && errno != EINTR) {
            c->conn.sys_errno = errno;
            on_io_error(c, "waiting on", AMI_ERR_IO);
            return c->end_code;
        }
        if (n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            read_some(c, ami__monotonic_ms());
    }
}

static bool has_banner(ami_client *c, void *arg)
{
    AMI__UNUSED(arg);
    return ami_session_banner(c->session) != NULL;
}

static bool has_event(ami_client *c, void *arg)
{
    AMI__UNUSED(arg);
    return ami_session_queued_events(c->session) > 0;
}

/* A client reconnecting gets a fresh session: the old one has seen a
 * banner, maybe Goodbye, and a failed parser. */
static int fresh_session(ami_client *c)
{
    if (!c->session_used)
        return 0;
    ami_session *s = NULL;
    int rc = ami_session_create(&s);
    if (rc != 0)
        return rc;
    ami_session_free(c->session);
    c->session = s;
    c->session_used = false;
    if (c->event_cb)
        ami_session_set_event_cb(s, c->event_cb, c->event_ud);
    ami_session_set_wire_cb(s, c->wire_cb, c->wire_ud);
    return 0;
}

void ami_client_set_wire_cb(ami_client *c, ami_wire_cb cb, void *user_data)
{
    if (!c)
        return;
    c->wire_cb = cb;
    c->wire_ud = user_data;
    ami_session_set_wire_cb(c->session, cb, user_data);
}

int ami_client_connect(ami_client *c, const char *host, unsigned port, int timeout_ms)
{
    if (!c || !host)
        return AMI_ERR_INVALID;
    if (c->in_pump) {
        set_err(c, "not allowed inside an event callback");
        return AMI_ERR_STATE;
    }
    if (c->state == ST_CONNECTED) {
        set_err(c, "already connected to %s (close first)", c->where);
        return AMI_ERR_STATE;
    }
    int rc = fresh_session(c);
    if (rc != 0) {
        set_err(c, "%s", ami_strerror(rc));
        return rc;
    }
    ami__format_hostport(c->where, sizeof c->where, host, port);
    uint64_t deadline = deadline_after(timeout_ms);
    ami__conn_use(&c->conn, c->tls);

    rc = c->conn.tp->connect(&c->conn, host, port, timeout_ms, c->errmsg, sizeof c->errmsg);
    if (rc != 0)
        return rc;
    c->state = ST_CONNECTED;
    c->session_used = true;

    /* The banner must arrive within what is left of the same timeout. */
    rc = pump(c, has_banner, NULL, deadline);
    if (rc == 0 && c->state == ST_CONNECTED)
        return 0;
    if (rc == 0) {
        /* The banner came, but bytes in the same read broke the session. */
        set_err(c, "%s", c->end_msg);
        return c->end_code;
    }
    if (rc == AMI_ERR_TIMEOUT) {
        ami_client_close(c);
        /* A TLS port stays silent until the client speaks TLS. */
        set_err(c, "no AMI banner from %s within %d ms%s", c->where, timeout_ms,
                c->tls ? ""
                       : " (a TLS port, such as Asterisk's 5039, stays silent until the "
                         "client starts TLS)");
        return rc;
    }
    if (c->state == ST_CONNECTED)
        ami_client_close(c);
    if (rc == AMI_ERR_BAD_BANNER) {
        set_err(c, "%s is not an AMI server: %s", c->where, ami_session_errmsg(c->session));
        return rc;
    }
    if (rc == AMI_ERR_DISCONNECTED) {
        set_err(c,
                "%s closed the connection before sending its banner (is it the AMI port, and "
                "does manager.conf permit this client's address?)",
                c->where);
        return AMI_ERR_EOF_BANNER;
    }
    return rc;
}

struct waiter {
    bool done;
    ami_result *result;
};

static void on_result(ami_session *s, ami_result *r, void *user_data)
{
    AMI__UNUSED(s);
    struct waiter *w = user_data;
    w->result = r;
    w->done = true;
}

static bool waiter_done(ami_client *c, void *arg)
{
    AMI__UNUSED(c);
    return ((struct waiter *)arg)->done;
}

/* Explain a call's outcome in c->errmsg; returns the status. */
static int explain(ami_client *c, const char *name, int status, const ami_result *r, int timeout_ms)
{
    if (status == AMI_ERR_TIMEOUT)
        set_err(c, "no response to %s from %s within %d ms", name, c->where, timeout_ms);
    else if (status == AMI_ERR_ACTION_FAILED)
        set_err(c, "%s failed: %s", name, r ? ami_result_message(r) : "error");
    else if (status == AMI_ERR_QUEUE_FULL)
        set_err(c,
                "event queue full while waiting for the response to %s: the application "
                "is not taking events",
                name);
    else if (status != 0 && r)
        set_err(c, "%s: %s", name, ami_result_message(r));
    return status;
}

/* Send `a` and wait for its result until the absolute `deadline`. */
static int call_until(ami_client *c, const ami_action *a, uint64_t deadline, int timeout_ms,
                      ami_result **out)
{
    *out = NULL;
    const char *name = ami_action_name(a);
    struct waiter w = {false, NULL};
    const char *id = NULL;
    int rc = ami_session_send(c->session, a, deadline, on_result, &w, &id);
    if (rc != 0) {
        set_err(c, "cannot send %s: %s", name, ami_strerror(rc));
        return rc;
    }
    /* The id is only valid while the action is pending. */
    char id_copy[AMI_ACTION_MAX_LINE];
    snprintf(id_copy, sizeof id_copy, "%s", id ? id : "");
    rc = pump(c, waiter_done, &w, deadline);
    if (!w.done) {
        /* Completes synchronously with AMI_ERR_CANCELLED; we report why. */
        ami_session_cancel(c->session, id_copy);
        ami_result_free(w.result);
        if (rc == AMI_ERR_TIMEOUT || rc == AMI_ERR_QUEUE_FULL)
            return explain(c, name, rc, NULL, timeout_ms);
        return rc;
    }
    *out = w.result;
    return explain(c, name, ami_result_status(w.result), w.result, timeout_ms);
}

int ami_client_call(ami_client *c, const ami_action *a, int timeout_ms, ami_result **out)
{
    if (out)
        *out = NULL;
    if (!c || !a || !out)
        return AMI_ERR_INVALID;
    int rc = check_usable(c);
    if (rc != 0)
        return rc;
    return call_until(c, a, deadline_after(timeout_ms), timeout_ms, out);
}

int ami_client_next_event(ami_client *c, int timeout_ms, ami_packet **out)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return AMI_ERR_INVALID;
    if (c->in_pump) {
        set_err(c, "not allowed inside an event callback");
        return AMI_ERR_STATE;
    }
    /* Queued events stay readable after the connection ended. */
    if (ami_session_next_event(c->session, out) == 1)
        return 1;
    if (c->state != ST_CONNECTED)
        return not_connected(c);
    int rc = pump(c, has_event, NULL, deadline_after(timeout_ms));
    if (ami_session_next_event(c->session, out) == 1)
        return 1;
    if (rc == AMI_ERR_TIMEOUT)
        return 0;
    if (rc == AMI_ERR_QUEUE_FULL)
        set_err(c, "the session refused more bytes with an empty event queue");
    return rc != 0 ? rc : AMI_ERR_STATE;
}

void ami_client_set_event_cb(ami_client *c, ami_event_cb cb, void *user_data)
{
    if (!c)
        return;
    c->event_cb = cb;
    c->event_ud = user_data;
    ami_session_set_event_cb(c->session, cb, user_data);
}

/* Build and run one action; the action is freed here. */
static int run_action(ami_client *c, ami_action *a, int build_rc, uint64_t deadline, int timeout_ms,
                      ami_result **out)
{
    *out = NULL;
    if (build_rc != 0) {
        set_err(c, "cannot build %s: %s", a ? ami_action_name(a) : "action",
                ami_strerror(build_rc));
        ami_action_free(a);
        return build_rc;
    }
    int rc = call_until(c, a, deadline, timeout_ms, out);
    ami_action_free(a);
    return rc;
}

int ami_client_login(ami_client *c, const char *username, const char *secret, unsigned flags,
                     const char *events, int timeout_ms)
{
    if (!c || !username || !secret)
        return AMI_ERR_INVALID;
    int rc = check_usable(c);
    if (rc != 0)
        return rc;
    uint64_t deadline = deadline_after(timeout_ms);
    const ami__login l = {username, secret, events, flags, c->where};
    ami_action *act = NULL;
    rc = ami__login_start(&l, &act, c->errmsg, sizeof c->errmsg);
    /* Challenge then Login, or Login alone: login.c says what comes next. */
    while (rc == 0 && act) {
        int challenge = ami__login_is_challenge(act);
        ami_result *r = NULL;
        rc = call_until(c, act, deadline, timeout_ms, &r);
        ami_action_free(act);
        act = NULL;
        if (r)
            rc = challenge ? ami__login_on_challenge(&l, r, &act, c->errmsg, sizeof c->errmsg)
                           : ami__login_on_login(&l, r, c->errmsg, sizeof c->errmsg);
        ami_result_free(r);
    }
    ami_action_free(act);
    return rc;
}

int ami_client_logoff(ami_client *c, int timeout_ms)
{
    if (!c)
        return AMI_ERR_INVALID;
    int rc = check_usable(c);
    if (rc != 0)
        return rc;
    ami_action *a = NULL;
    rc = ami_action_create(&a, "Logoff");
    ami_result *r = NULL;
    rc = run_action(c, a, rc, deadline_after(timeout_ms), timeout_ms, &r);
    if (rc == 0 && ami_packet_response_type(ami_result_response(r)) != AMI_RESPONSE_GOODBYE) {
        set_err(c, "Logoff: %s answered without Goodbye", c->where);
        rc = AMI_ERR_PROTOCOL;
    }
    ami_result_free(r);
    /* Whatever the answer, the application wants to be gone. */
    if (c->state == ST_CONNECTED) {
        char msg[ERRMSG_LEN];
        snprintf(msg, sizeof msg, "connection to %s closed after Logoff", c->where);
        end_connection(c, rc == 0 ? ST_CLOSED : ST_BROKEN,
                       rc == 0 ? AMI_ERR_CLOSED : AMI_ERR_DISCONNECTED, msg);
    }
    return rc;
}

int ami_client_set_tls(ami_client *c, const ami_tls_config *cfg)
{
    if (!c)
        return AMI_ERR_INVALID;
    return ami__tls_config_replace(&c->tls, cfg, c->errmsg, sizeof c->errmsg);
}

const char *ami_client_errmsg(const ami_client *c)
{
    return c ? c->errmsg : "invalid client (NULL)";
}

ami_session *ami_client_session(ami_client *c)
{
    return c ? c->session : NULL;
}

int ami_client_fd(const ami_client *c)
{
    return c ? c->conn.fd : -1;
}
