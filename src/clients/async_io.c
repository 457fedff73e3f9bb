/*
 * Moving bytes and delivering events for the event-loop client. Reading
 * never waits on the application for long: bytes are read straight into
 * the session's parser buffer; while the application keeps up, each event
 * is handed to it as it is parsed, with no copy (ami__async_direct), for at
 * most the delivery budget; past the budget, or while anything is already
 * waiting, events go to the session's bounded queue and are delivered on
 * the next (immediate) turn of the loop. When the queue is full the session
 * stops parsing and reading pauses: the bytes wait in the kernel, which is
 * the back-pressure the server sees, until delivery makes room.
 *
 * A failure here is only recorded (ami__async_defer_loss): async_conn.c,
 * above this file, ends the connection once the step returns
 * (ami__async_run_pending), so nothing here calls up into it.
 */
#include "async_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Smallest read area worth a system call; the parser's buffer usually
 * offers far more, and each read takes all it offers. */
#define READ_MIN (16u * 1024u)
/* Reads per readiness: a firehose must not starve the other handles of
 * the same loop. */
#define MAX_READS 8

size_t ami__async_queued(const ami_async *a)
{
    return a->carry.count + (a->session ? ami_session_queued_events(a->session) : 0);
}

int ami__async_backlog(const ami_async *a)
{
    if (a->hold || !a->event_cb)
        return 0;
    return ami__async_queued(a) > 0;
}

int ami__async_tp_pending(const ami_async *a)
{
    if (!a->session || a->conn.fd < 0 || !a->conn.tp->pending || a->paused || a->eof_pending ||
        a->close_pending)
        return 0;
    return a->conn.tp->pending(&a->conn) > 0;
}

/* --------------------------------------------------------------- bytes */

static void note_paused(ami_async *a, int paused, uint64_t now)
{
    if (paused && !a->paused) {
        a->paused = 1;
        a->paused_since = now;
        a->stats.paused_count++;
    } else if (!paused && a->paused) {
        a->paused = 0;
        a->stats.paused_ms += now - a->paused_since;
    }
}

static void session_failed(ami_async *a, int code)
{
    char msg[AMI__ASYNC_ERRLEN];
    snprintf(msg, sizeof msg, "%s", ami_session_errmsg(a->session));
    ami__async_defer_loss(
        a,
        a->phase == PH_BANNER && code == AMI_ERR_BAD_BANNER
            ? AMI_ASYNC_REASON_PROTOCOL
            : (code == AMI_ERR_NOMEM ? AMI_ASYNC_REASON_NOMEM : AMI_ASYNC_REASON_PROTOCOL),
        code, msg);
}

/* After the session parsed: note back-pressure and what the queue holds. */
static void after_parse(ami_async *a, uint64_t now)
{
    note_paused(a, ami_session_is_paused(a->session), now);
    size_t q = ami__async_queued(a);
    if (q > a->stats.max_queued)
        a->stats.max_queued = q;
}

/*
 * Let the session parse packets its buffer already holds (left there while
 * its queue was full) now that the queue may have room.
 */
void ami__async_feed(ami_async *a, uint64_t now)
{
    if (!a->session)
        return;
    a->in_sess++;
    long n = ami_session_recv(a->session, NULL, 0, now);
    a->in_sess--;
    if (n < 0) {
        session_failed(a, (int)n);
        return;
    }
    after_parse(a, now);
}

static void read_failed(ami_async *a, long n)
{
    char msg[AMI__ASYNC_ERRLEN];
    if (n == AMI_ERR_TLS && a->conn.tp_err[0]) {
        snprintf(msg, sizeof msg, "%s", a->conn.tp_err);
        ami__async_defer_loss(a, AMI_ASYNC_REASON_IO, AMI_ERR_TLS, msg);
        return;
    }
    snprintf(msg, sizeof msg, "reading from %s failed: %s", a->where, strerror(a->conn.sys_errno));
    /* A reset is the server going away with our bytes unread (killed,
     * restarted): the same loss as a close. */
    ami__async_defer_loss(
        a, a->conn.sys_errno == ECONNRESET ? AMI_ASYNC_REASON_EOF : AMI_ASYNC_REASON_IO,
        AMI_ERR_DISCONNECTED, msg);
}

void ami__async_read(ami_async *a, uint64_t now)
{
    /* Direct delivery during this read phase shares the delivery budget. */
    a->direct_start = now;
    a->direct_unchecked = 0;
    a->direct_stride = 1;
    a->direct_spent = a->budget_ms <= 0;
    for (int i = 0; i < MAX_READS && a->session && !a->close_pending && !a->eof_pending; i++) {
        if (a->paused) {
            /* Packets parked in the parser go first: reading more would
             * only grow its buffer. */
            ami__async_feed(a, now);
            if (a->paused || !a->session)
                return;
        }
        char *area;
        size_t avail;
        int rc = ami_session_recv_reserve(a->session, READ_MIN, &area, &avail);
        if (rc == AMI_ERR_QUEUE_FULL) {
            note_paused(a, 1, now);
            return;
        }
        if (rc < 0) {
            session_failed(a, rc);
            return;
        }
        long n = a->conn.tp->read(&a->conn, area, avail);
        if (n == AMI__NET_AGAIN)
            return;
        if (n == 0) {
            /* Events already received go out before the loss is
             * reported, so a Shutdown event can name the reason. */
            a->eof_pending = 1;
            if (a->wire_cb)
                a->wire_cb(AMI_WIRE_EOF, "", 0, a->wire_ud);
            return;
        }
        if (n < 0) {
            read_failed(a, n);
            return;
        }
        a->last_rx = now;
        a->in_sess++;
        rc = ami_session_recv_commit(a->session, (size_t)n, now);
        a->in_sess--;
        if (rc < 0) {
            session_failed(a, rc);
            return;
        }
        after_parse(a, now);
        if (a->paused || !a->session || (size_t)n < avail)
            return;
    }
}

void ami__async_finish_eof(ami_async *a)
{
    if (!a->eof_pending || !a->session)
        return;
    if (ami__async_backlog(a) || (!a->hold && a->event_cb && a->paused))
        return;
    char msg[AMI__ASYNC_ERRLEN];
    int goodbye = ami_session_got_goodbye(a->session);
    if (a->phase == PH_BANNER)
        snprintf(msg, sizeof msg, "%s closed the connection before sending its banner", a->where);
    else
        snprintf(msg, sizeof msg, "connection to %s closed by the server%s", a->where,
                 goodbye           ? " after Goodbye"
                 : a->saw_shutdown ? " after Shutdown"
                                   : "");
    ami__async_defer_loss(a,
                          goodbye           ? AMI_ASYNC_REASON_GOODBYE
                          : a->saw_shutdown ? AMI_ASYNC_REASON_SHUTDOWN
                                            : AMI_ASYNC_REASON_EOF,
                          a->phase == PH_BANNER ? AMI_ERR_EOF_BANNER : AMI_ERR_DISCONNECTED, msg);
}

void ami__async_flush(ami_async *a)
{
    while (a->session && a->phase != PH_CONNECT && a->phase != PH_TLS && !a->close_pending) {
        const char *data = NULL;
        size_t len = 0;
        ami_session_output(a->session, &data, &len);
        if (len == 0)
            return;
        long n = a->conn.tp->write(&a->conn, data, len);
        if (n == AMI__NET_AGAIN)
            return;
        if (n < 0) {
            char msg[AMI__ASYNC_ERRLEN];
            if (n == AMI_ERR_TLS && a->conn.tp_err[0])
                snprintf(msg, sizeof msg, "%s", a->conn.tp_err);
            else
                snprintf(msg, sizeof msg, "sending to %s failed: %s", a->where,
                         strerror(a->conn.sys_errno));
            ami__async_defer_loss(a, AMI_ASYNC_REASON_IO,
                                  n == AMI_ERR_TLS ? AMI_ERR_TLS : AMI_ERR_DISCONNECTED, msg);
            return;
        }
        ami_session_consume(a->session, (size_t)n);
    }
}

/* ------------------------------------------------------------ delivery */

/* Events delivered between two looks at the clock once delivery is seen
 * to be fast (a whole millisecond not yet passed): clock_gettime per event
 * was 4% of a firehose (perf). Slow handlers show up as passing time and
 * bring the stride back to one, so the budget is overrun by at most this
 * many events. */
#define MAX_CLOCK_STRIDE 16u

static int is_shutdown(const ami_packet *p);

/*
 * The common case of a busy connection: the application keeps up, nothing
 * waits in a queue, and each event goes to it straight from the parser,
 * borrowed, with no copy and no allocation (the copy into the queue was the
 * largest cost left on the firehose path). Anything that needs ordering or
 * bounding falls back to the queue: events held, old-session events or the
 * gap notice still waiting, not logged in yet (the gap notice comes at
 * login), a close pending, or the read phase's delivery budget spent.
 */
int ami__async_direct(ami_session *s, const ami_packet *p, void *user_data)
{
    AMI__UNUSED(s);
    ami_async *a = user_data;
    if (a->direct_spent || a->hold || !a->event_cb || a->carry.count || a->phase != PH_UP ||
        a->close_pending || a->free_pending || a->eof_pending)
        return 0;
    if (is_shutdown(p))
        a->saw_shutdown = 1;
    a->in_cb++;
    a->event_cb(a, p, a->event_ud);
    a->in_cb--;
    a->stats.events++;
    if (++a->direct_unchecked >= a->direct_stride) {
        uint64_t spent = ami__monotonic_ms() - a->direct_start;
        if (spent >= (uint64_t)a->budget_ms)
            a->direct_spent = 1;
        a->direct_unchecked = 0;
        a->direct_stride = spent ? 1u
                                 : (a->direct_stride < MAX_CLOCK_STRIDE ? a->direct_stride * 2u
                                                                        : a->direct_stride);
    }
    return 1;
}

static ami_packet *next_packet(ami_async *a)
{
    ami_packet *p = NULL;
    if (ami__event_queue_pop(&a->carry, &p) == 1 || !a->session)
        return p;
    if (ami_session_next_event(a->session, &p) == 1)
        return p;
    return NULL;
}

static int is_shutdown(const ami_packet *p)
{
    const char *name;
    size_t len;
    /* An event's name is its first header's value: no strlen per event. */
    return ami_packet_kind_of(p) == AMI_PACKET_EVENT &&
           ami_packet_header(p, 0, NULL, NULL, &name, &len) == AMI_OK &&
           ami__key_equals(name, len, "Shutdown");
}

void ami__async_deliver(ami_async *a)
{
    if (a->hold)
        return;
    uint64_t start = ami__monotonic_ms();
    unsigned stride = 1, unchecked = 0;
    for (;;) {
        if (a->close_pending || a->free_pending)
            break;
        ami_packet *p = next_packet(a);
        if (!p) {
            /* The parser may hold packets the full queue refused. */
            if (a->session && a->paused) {
                ami__async_feed(a, ami__monotonic_ms());
                p = next_packet(a);
            }
            if (!p)
                break;
        }
        if (is_shutdown(p))
            a->saw_shutdown = 1;
        if (a->event_cb) {
            a->in_cb++;
            a->event_cb(a, p, a->event_ud);
            a->in_cb--;
            a->stats.events++;
        }
        ami_packet_free(p);
        if (a->event_cb && ++unchecked >= stride) {
            uint64_t spent = ami__monotonic_ms() - start;
            if (spent >= (uint64_t)a->budget_ms)
                break;
            unchecked = 0;
            stride = spent ? 1u : (stride < MAX_CLOCK_STRIDE ? stride * 2u : stride);
        }
    }
    /* Room was made: let the session parse what its buffer still holds. */
    if (a->session && !a->close_pending && a->paused)
        ami__async_feed(a, ami__monotonic_ms());
}
