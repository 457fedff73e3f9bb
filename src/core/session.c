/*
 * The sans-I/O protocol engine of one AMI connection (nghttp2's
 * mem_recv/mem_send split): bytes in, bytes out, time passed in.
 *
 * Invariants worth knowing before changing anything here:
 *   - a pending action is unlinked from the table *before* its callback
 *     runs, and nothing holds an iterator across a callback, so callbacks
 *     may send or cancel freely;
 *   - the loops that fail many actions (disconnect, tick, fatal error) only
 *     take actions sent before the loop started, so a callback that re-sends
 *     cannot make them spin;
 *   - new bytes are fed to the parser only once it holds no complete packet
 *     we have not taken, which is what bounds memory under back-pressure.
 *
 * Choices the public header leaves open:
 *   - a list that ends with "EventList: Cancelled" completes like one that
 *     ends with Complete (status from the response, is_list 1); the final
 *     event tells the two apart;
 *   - after a fatal receive error, send returns AMI_ERR_STATE until
 *     ami_session_disconnected() starts over; actions sent from callbacks
 *     while disconnected() fails the old ones stay pending and their bytes
 *     wait for the next connection;
 *   - an allocation failure while copying an event into the queue is fatal
 *     (like nghttp2's NOMEM): the event cannot be put back into the parser;
 *     a failure while storing an action's reply only fails that action;
 *   - the queue's byte bound counts the events' wire size.
 */
#include "session_internal.h"

#include "action.h"
#include "event_queue.h"
#include "pending.h"
#include "result.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PREFIX_MAX 64
/* While events go to the bounded queue, bytes are fed in slices this big
 * so that recv can stop close to where the queue filled up. */
#define FEED_SLICE 4096u

struct ami_session {
    ami_parser *parser;
    ami__pending_table pending;
    ami__event_queue queue;

    char *out;
    size_t out_start;
    size_t out_end;
    size_t out_cap;

    ami_event_cb event_cb;
    ami__event_filter event_filter;
    void *event_filter_ud;
    void *event_ud;

    ami_wire_cb wire_cb;
    void *wire_ud;
    char *wire_area; /* last area handed out by recv_reserve */

    uint64_t next_id;
    uint64_t seq;
    uint64_t unmatched;
    int failed;     /* sticky fatal error until disconnected(), else 0 */
    unsigned in_cb; /* callback nesting depth */
    bool freeing;
    bool got_goodbye;
    bool has_banner;
    int version[3];

    size_t prefix_len;
    char prefix[PREFIX_MAX + 1];
    char banner[256];
    char errmsg[256];
};

static void set_errmsg(ami_session *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void set_errmsg(ami_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
    va_end(ap);
}

int ami_session_create(ami_session **out)
{
    if (!out)
        return AMI_ERR_INVALID;
    *out = NULL;
    ami_session *s = ami__calloc(1, sizeof(*s));
    if (!s)
        return AMI_ERR_NOMEM;
    int rc = ami_parser_create(&s->parser, AMI_PARSER_EXPECT_BANNER);
    if (rc) {
        ami__free(s);
        return rc;
    }
    ami__event_queue_init(&s->queue);
    /* Two sessions (also in two processes sharing one AMI user) must not
     * produce the same IDs, or one would take the other's responses. */
    uintptr_t addr = (uintptr_t)s;
    unsigned long mix = (unsigned long)((addr >> 4) ^ (addr >> 28)) & 0xffffffu;
    snprintf(s->prefix, sizeof(s->prefix), "ami-%lx-%lx-", (unsigned long)getpid(), mix);
    s->prefix_len = strlen(s->prefix);
    s->errmsg[0] = '\0';
    *out = s;
    return AMI_OK;
}

/* ---------------------------------------------------------- completion */

/* Unlink, settle and hand the result to its callback (exactly once). */
static void complete(ami_session *s, ami__pending *e)
{
    ami__pending_remove(&s->pending, e);
    ami_result *r = e->result;
    ami_result_cb cb = e->cb;
    void *ud = e->user_data;
    ami__free(e);
    ami__result_finish(r);
    if (!cb) {
        ami_result_free(r);
        return;
    }
    s->in_cb++;
    cb(s, r, ud);
    s->in_cb--;
}

/* Fail every action sent so far (actions that callbacks send meanwhile
 * stay pending). `why` (may be NULL) explains the failure; with `exact` it
 * is the whole message. */
static void fail_all(ami_session *s, int status, const char *why, bool exact)
{
    uint64_t last = s->seq;
    ami__pending *e;
    while ((e = s->pending.head) != NULL && e->seq <= last) {
        ami_result *r = e->result;
        if (why && exact)
            ami__result_fail(r, status, "%s", why);
        else if (why)
            ami__result_fail(r, status, "%s; no reply to %s (ActionID %s)", why, r->name,
                             r->action_id);
        else
            ami__result_fail(r, status, "%s before the reply to %s (ActionID %s)",
                             ami_strerror(status), r->name, r->action_id);
        complete(s, e);
    }
}

static int fatal(ami_session *s, int rc)
{
    int perr = ami_parser_error(s->parser);
    if (perr)
        set_errmsg(s, "%s at stream offset %llu", ami_strerror(perr),
                   (unsigned long long)ami_parser_error_offset(s->parser));
    else
        set_errmsg(s, "%s while receiving", ami_strerror(rc));
    s->failed = rc;
    char why[sizeof(s->errmsg)];
    memcpy(why, s->errmsg, sizeof(why));
    fail_all(s, rc, why, false);
    return rc;
}

void ami_session_free(ami_session *s)
{
    /* Freeing from inside a callback would pull the session out from under
     * the loop that called it; it is ignored (documented in ami.h). */
    if (!s || s->in_cb)
        return;
    s->freeing = true;
    fail_all(s, AMI_ERR_CANCELLED, "session freed", false);
    ami_parser_free(s->parser);
    ami__event_queue_free(&s->queue);
    ami__pending_table_free(&s->pending);
    ami__free(s->out);
    ami__free(s);
}

/* ------------------------------------------------------------- options */

int ami_session_set_id_prefix(ami_session *s, const char *prefix)
{
    if (!s || !prefix)
        return AMI_ERR_INVALID;
    size_t len = strlen(prefix);
    if (len > PREFIX_MAX)
        return AMI_ERR_TOO_LONG;
    int rc = ami__check_value(prefix, len);
    if (rc)
        return rc;
    memcpy(s->prefix, prefix, len + 1);
    s->prefix_len = len;
    return AMI_OK;
}

void ami_session_set_event_cb(ami_session *s, ami_event_cb cb, void *user_data)
{
    if (!s)
        return;
    s->event_cb = cb;
    s->event_ud = user_data;
}

void ami__session_set_event_filter(ami_session *s, ami__event_filter filter, void *user_data)
{
    s->event_filter = filter;
    s->event_filter_ud = user_data;
}

void ami_session_set_queue_limits(ami_session *s, size_t max_events, size_t max_bytes)
{
    if (!s)
        return;
    s->queue.max_events = max_events ? max_events : AMI__QUEUE_DEFAULT_EVENTS;
    s->queue.max_bytes = max_bytes ? max_bytes : AMI__QUEUE_DEFAULT_BYTES;
}

void ami_session_set_parser_limits(ami_session *s, size_t max_line, size_t max_headers,
                                   size_t max_packet)
{
    if (s)
        ami_parser_set_limits(s->parser, max_line, max_headers, max_packet);
}

/* -------------------------------------------------------------- output */

static int out_reserve(ami_session *s, size_t n, char **dst)
{
    if (s->out_cap - s->out_end < n && s->out_start > 0) {
        size_t len = s->out_end - s->out_start;
        memmove(s->out, s->out + s->out_start, len);
        s->out_start = 0;
        s->out_end = len;
    }
    if (s->out_cap - s->out_end < n) {
        size_t need = s->out_end + n;
        size_t cap = s->out_cap ? s->out_cap : 1024;
        while (cap < need)
            cap *= 2;
        char *buf = ami__realloc(s->out, cap);
        if (!buf)
            return AMI_ERR_NOMEM;
        s->out = buf;
        s->out_cap = cap;
    }
    *dst = s->out + s->out_end;
    return AMI_OK;
}

void ami_session_output(const ami_session *s, const char **data, size_t *len)
{
    /* Never NULL + 0: an empty output is still a valid empty buffer. */
    if (data)
        *data = (s && s->out) ? s->out + s->out_start : "";
    if (len)
        *len = s ? s->out_end - s->out_start : 0;
}

void ami_session_consume(ami_session *s, size_t n)
{
    if (!s)
        return;
    size_t len = s->out_end - s->out_start;
    if (s->wire_cb && n && len)
        s->wire_cb(AMI_WIRE_SEND, s->out + s->out_start, n < len ? n : len, s->wire_ud);
    s->out_start += n < len ? n : len;
    if (s->out_start == s->out_end)
        s->out_start = s->out_end = 0;
}

/* ---------------------------------------------------------------- send */

/* prefix then the counter in decimal; snprintf was a tenth of the cost of
 * a Ping round trip (callgrind of rtt_bench session). `out` holds
 * PREFIX_MAX + 21 bytes and prefix_len <= PREFIX_MAX. */
static size_t format_id(char *out, const char *prefix, size_t prefix_len, uint64_t n)
{
    char digits[20];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    memcpy(out, prefix, prefix_len);
    for (size_t k = 0; k < nd; k++)
        out[prefix_len + k] = digits[nd - 1 - k];
    out[prefix_len + nd] = '\0';
    return prefix_len + nd;
}

int ami_session_send(ami_session *s, const ami_action *a, uint64_t deadline, ami_result_cb cb,
                     void *user_data, const char **id_out)
{
    if (id_out)
        *id_out = NULL;
    if (!s || !a)
        return AMI_ERR_INVALID;
    if (s->freeing || s->failed) {
        /* A failed session keeps the message that says why it failed. */
        if (s->freeing)
            set_errmsg(s, "cannot send: the session is being freed");
        return AMI_ERR_STATE;
    }

    /* An ActionID the caller chose goes out untouched; an empty one is
     * treated as absent, since Asterisk does not echo an empty ActionID. */
    const char *id = ami_action_get(a, "ActionID");
    const char *wire_id = NULL;
    char idbuf[PREFIX_MAX + 24];
    size_t id_len = id ? strlen(id) : 0;
    if (id_len) {
        if (ami__pending_find(&s->pending, id, id_len)) {
            set_errmsg(s, "ActionID %s is already pending", id);
            return AMI_ERR_DUPLICATE_ID;
        }
    } else {
        /* Skip counters a caller's own ActionID happens to hold. */
        do {
            id_len = format_id(idbuf, s->prefix, s->prefix_len, ++s->next_id);
        } while (ami__pending_find(&s->pending, idbuf, id_len));
        id = wire_id = idbuf;
    }

    size_t wire;
    int rc = ami__action_wire_size(a, wire_id, id_len, &wire);
    if (rc) {
        set_errmsg(s, "cannot send %s: %s", ami_action_name(a), ami_strerror(rc));
        return rc;
    }
    const char *name = ami_action_name(a);
    ami__pending *e = ami__calloc(1, sizeof(*e));
    ami_result *r = e ? ami__result_create(id, id_len, name, strlen(name)) : NULL;
    char *dst = NULL;
    if (!r || ami__pending_reserve(&s->pending, deadline != AMI_NO_DEADLINE) ||
        out_reserve(s, wire, &dst)) {
        ami__free(r);
        ami__free(e);
        set_errmsg(s, "cannot send %s: %s", name, ami_strerror(AMI_ERR_NOMEM));
        return AMI_ERR_NOMEM;
    }
    ami__action_write(a, wire_id, id_len, dst);
    s->out_end += wire;

    e->result = r;
    e->cb = cb;
    e->user_data = user_data;
    e->deadline = deadline;
    e->seq = ++s->seq;
    ami__pending_insert(&s->pending, e);
    if (id_out)
        *id_out = r->action_id;
    return AMI_OK;
}

int ami_session_cancel(ami_session *s, const char *action_id)
{
    if (!s || !action_id)
        return AMI_ERR_INVALID;
    ami__pending *e = ami__pending_find(&s->pending, action_id, strlen(action_id));
    if (!e)
        return AMI_ERR_INVALID;
    ami__result_fail(e->result, AMI_ERR_CANCELLED, "%s (ActionID %s) cancelled", e->result->name,
                     e->result->action_id);
    complete(s, e);
    return AMI_OK;
}

void *ami__session_pending_data(const ami_session *s, const char *action_id, ami_result_cb cb)
{
    if (!s || !action_id)
        return NULL;
    ami__pending *e = ami__pending_find(&s->pending, action_id, strlen(action_id));
    return e && e->cb == cb ? e->user_data : NULL;
}

/* ---------------------------------------------------------------- recv */

static bool value_is(const char *v, size_t len, const char *word)
{
    return v && ami__key_equals(v, len, word);
}

static bool ends_with(const char *v, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return v && len >= n && ami__key_equals(v + len - n, n, suffix);
}

/* Application delivery: borrowed by the callback, or copied into the queue. */
static int deliver(ami_session *s, const ami_packet *p)
{
    if (s->event_filter && s->queue.count == 0) {
        s->in_cb++;
        int taken = s->event_filter(s, p, s->event_filter_ud);
        s->in_cb--;
        if (taken)
            return AMI_OK;
    }
    if (s->event_cb) {
        s->in_cb++;
        s->event_cb(s, p, s->event_ud);
        s->in_cb--;
        return AMI_OK;
    }
    return ami__event_queue_push(&s->queue, p);
}

static void on_banner(ami_session *s, const ami_packet *p)
{
    const char *line = NULL;
    size_t len = 0;
    ami_packet_header(p, 0, NULL, NULL, &line, &len);
    if (!line)
        line = "";
    size_t keep = len < sizeof(s->banner) - 1 ? len : sizeof(s->banner) - 1;
    memcpy(s->banner, line, keep);
    s->banner[keep] = '\0';
    if (ami_banner_parse(line, len, &s->version[0], &s->version[1], &s->version[2]) != AMI_OK)
        s->version[0] = s->version[1] = s->version[2] = 0;
    s->has_banner = true;
    /* A banner starts a new connection: the old Goodbye no longer applies. */
    s->got_goodbye = false;
}

/* Does this response open an EventList? Sets *legacy for the pre-2.7 form
 * ("... will follow" without any EventList header). */
static bool opens_list(const ami_packet *p, bool *legacy)
{
    size_t len;
    const char *el = ami_packet_getn(p, "EventList", &len);
    *legacy = false;
    if (el)
        return value_is(el, len, "start");
    if (ami_packet_response_type(p) != AMI_RESPONSE_SUCCESS)
        return false;
    const char *msg = ami_packet_getn(p, "Message", &len);
    *legacy = ends_with(msg, len, "will follow");
    return *legacy;
}

static int on_response(ami_session *s, const ami_packet *p)
{
    if (ami_packet_response_type(p) == AMI_RESPONSE_GOODBYE)
        s->got_goodbye = true;
    size_t id_len = 0;
    const char *id = ami_packet_getn(p, "ActionID", &id_len);
    ami__pending *e;
    if (id && id_len) {
        e = ami__pending_find(&s->pending, id, id_len);
        if (e && e->state != AMI__AWAIT_RESPONSE)
            e = NULL;
    } else {
        /* Asterisk answers one connection's actions in request order. */
        e = ami__pending_oldest_awaiting(&s->pending);
    }
    if (!e) {
        s->unmatched++;
        return deliver(s, p);
    }
    ami__result_set_response(e->result, p);
    bool legacy;
    if (opens_list(p, &legacy)) {
        ami__pending_enter_list(&s->pending, e);
        e->legacy_list = legacy;
        return AMI_OK;
    }
    complete(s, e);
    return AMI_OK;
}

static void collect(ami_session *s, ami__pending *e, const ami_packet *p)
{
    ami__result_add_event(e->result, p);
    size_t len;
    const char *el = ami_packet_getn(p, "EventList", &len);
    bool done;
    if (el) {
        e->legacy_list = 0;
        done = value_is(el, len, "Complete") || value_is(el, len, "Cancelled");
    } else if (e->legacy_list) {
        const char *name = ami_packet_event_name(p);
        done = name && ends_with(name, strlen(name), "Complete");
    } else {
        done = false;
    }
    if (done) {
        e->result->is_list = 1;
        complete(s, e);
    }
}

static int on_event(ami_session *s, const ami_packet *p)
{
    /* Most events carry no ActionID; skip the lookup when no list is open. */
    if (s->pending.in_list) {
        size_t id_len = 0;
        const char *id = ami_packet_getn(p, "ActionID", &id_len);
        if (id && id_len) {
            ami__pending *e = ami__pending_find(&s->pending, id, id_len);
            if (e && e->state == AMI__IN_LIST) {
                collect(s, e, p);
                return AMI_OK;
            }
        }
    }
    return deliver(s, p);
}

static int dispatch(ami_session *s, const ami_packet *p)
{
    switch (ami_packet_kind_of(p)) {
    case AMI_PACKET_BANNER:
        on_banner(s, p);
        return AMI_OK;
    case AMI_PACKET_RESPONSE:
        return on_response(s, p);
    case AMI_PACKET_EVENT:
        return on_event(s, p);
    default:
        return deliver(s, p);
    }
}

/* Take packets until the parser needs bytes (1), the queue is full (0) or
 * an error (< 0). */
static int drain(ami_session *s)
{
    for (;;) {
        if (!s->event_cb && ami__event_queue_full(&s->queue))
            return 0;
        const ami_packet *p;
        int rc = ami_parser_next(s->parser, &p);
        if (rc <= 0)
            return rc == 0 ? 1 : rc;
        if ((rc = dispatch(s, p)) < 0)
            return rc;
    }
}

long ami_session_recv(ami_session *s, const char *data, size_t len, uint64_t now)
{
    AMI__UNUSED(now);
    if (!s || (!data && len))
        return AMI_ERR_INVALID;
    if (s->in_cb || s->freeing)
        return AMI_ERR_STATE;
    if (s->failed)
        return s->failed;
    if (len > LONG_MAX)
        len = LONG_MAX;

    int rc = drain(s);
    size_t used = 0;
    while (rc == 1 && used < len) {
        size_t n = len - used;
        if (!s->event_cb && n > FEED_SLICE)
            n = FEED_SLICE;
        rc = ami_parser_feed(s->parser, data + used, n);
        if (rc == AMI_ERR_NOMEM && !ami_parser_error(s->parser)) {
            /* The parser kept its state: the caller may retry these bytes. */
            set_errmsg(s, "out of memory buffering received bytes");
            return used ? (long)used : AMI_ERR_NOMEM;
        }
        if (rc < 0)
            break;
        used += n;
        rc = drain(s);
    }
    if (s->wire_cb && used)
        s->wire_cb(AMI_WIRE_RECV, data, used, s->wire_ud);
    if (rc < 0)
        return fatal(s, rc);
    return (long)used;
}

void ami_session_set_wire_cb(ami_session *s, ami_wire_cb cb, void *user_data)
{
    if (!s)
        return;
    s->wire_cb = cb;
    s->wire_ud = user_data;
}

int ami_session_recv_reserve(ami_session *s, size_t min, char **area, size_t *area_len)
{
    if (!s || !area || !area_len)
        return AMI_ERR_INVALID;
    if (s->in_cb || s->freeing)
        return AMI_ERR_STATE;
    if (s->failed)
        return s->failed;
    /* Complete packets still waiting in the parser must go first, or the
     * buffer would grow by a read for every call made while paused. */
    if (ami_session_is_paused(s))
        return AMI_ERR_QUEUE_FULL;
    int rc = ami_parser_reserve(s->parser, min, area, area_len);
    s->wire_area = rc == 0 ? *area : NULL;
    if (rc == AMI_ERR_NOMEM)
        set_errmsg(s, "out of memory buffering received bytes");
    return rc;
}

int ami_session_recv_commit(ami_session *s, size_t n, uint64_t now)
{
    AMI__UNUSED(now);
    if (!s)
        return AMI_ERR_INVALID;
    if (s->in_cb || s->freeing)
        return AMI_ERR_STATE;
    if (s->failed)
        return s->failed;
    /* Before the commit: parsing may move the buffer the area points in. */
    if (s->wire_cb && s->wire_area && n)
        s->wire_cb(AMI_WIRE_RECV, s->wire_area, n, s->wire_ud);
    s->wire_area = NULL;
    int rc = ami_parser_commit(s->parser, n);
    if (rc == 0)
        rc = drain(s);
    if (rc < 0)
        return fatal(s, rc);
    return AMI_OK;
}

int ami_session_is_paused(const ami_session *s)
{
    return s && !s->event_cb && ami__event_queue_full(&s->queue);
}

/* ------------------------------------------------------ time and close */

int ami_session_tick(ami_session *s, uint64_t now)
{
    if (!s)
        return AMI_ERR_INVALID;
    if (s->in_cb || s->freeing)
        return AMI_ERR_STATE;
    uint64_t last = s->seq;
    int expired = 0;
    ami__pending *e;
    while ((e = ami__pending_earliest(&s->pending)) != NULL && e->deadline <= now &&
           e->seq <= last && expired < INT_MAX) {
        ami_result *r = e->result;
        if (e->state == AMI__IN_LIST)
            ami__result_fail(r, AMI_ERR_TIMEOUT,
                             "list reply to %s (ActionID %s) not complete within the deadline",
                             r->name, r->action_id);
        else
            ami__result_fail(r, AMI_ERR_TIMEOUT,
                             "no response to %s (ActionID %s) within the deadline", r->name,
                             r->action_id);
        complete(s, e);
        expired++;
    }
    return expired;
}

uint64_t ami_session_next_deadline(const ami_session *s)
{
    const ami__pending *e = s ? ami__pending_earliest(&s->pending) : NULL;
    return e ? e->deadline : AMI_NO_DEADLINE;
}

void ami_session_disconnected(ami_session *s, int reason, const char *message)
{
    if (!s || s->in_cb || s->freeing)
        return;
    if (reason >= 0)
        reason = AMI_ERR_DISCONNECTED;
    ami_parser_reset(s->parser);
    s->out_start = s->out_end = 0;
    s->failed = 0;
    if (message)
        set_errmsg(s, "%s", message);
    else
        set_errmsg(s, "%s", ami_strerror(reason));
    /* Actions sent by these callbacks stay pending for the next connection. */
    fail_all(s, reason, message, true);
}

/* ------------------------------------------------------------- getters */

int ami_session_next_event(ami_session *s, ami_packet **out)
{
    if (!out)
        return 0;
    *out = NULL;
    return s ? ami__event_queue_pop(&s->queue, out) : 0;
}

size_t ami_session_queued_events(const ami_session *s)
{
    return s ? s->queue.count : 0;
}

const char *ami_session_banner(const ami_session *s)
{
    return (s && s->has_banner) ? s->banner : NULL;
}

int ami_session_version(const ami_session *s, int *major, int *minor, int *patch)
{
    bool ok = s && s->has_banner;
    if (major)
        *major = ok ? s->version[0] : 0;
    if (minor)
        *minor = ok ? s->version[1] : 0;
    if (patch)
        *patch = ok ? s->version[2] : 0;
    if (!s)
        return AMI_ERR_INVALID;
    return ok ? AMI_OK : AMI_ERR_STATE;
}

size_t ami_session_pending_count(const ami_session *s)
{
    return s ? s->pending.count : 0;
}

uint64_t ami_session_unmatched_count(const ami_session *s)
{
    return s ? s->unmatched : 0;
}

int ami_session_got_goodbye(const ami_session *s)
{
    return s ? s->got_goodbye : 0;
}

int ami_session_failed(const ami_session *s)
{
    return s ? s->failed : AMI_ERR_INVALID;
}

const char *ami_session_errmsg(const ami_session *s)
{
    if (!s)
        return ami_strerror(AMI_ERR_INVALID);
    return s->errmsg[0] ? s->errmsg : "no error";
}
