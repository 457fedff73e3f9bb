/* The event hub. Every event of a server gets the next sequence number,
 * is encoded to JSON once, kept in a ring bounded by count and bytes, and
 * handed by reference to every subscriber's bounded byte queue. A
 * subscriber that cannot keep up loses its backlog, never anyone else's
 * time: its queue is emptied and it gets a gap message naming exactly the
 * sequence numbers it lost. Nothing here ever pauses the AMI connection. */
#include "app.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* lws-write.h keeps value 4 for the close frame ("LWS_WRITE_CLOSE is
 * handled by lws_close_reason()") without naming it; see amid_client_write
 * for why amid writes the frame itself. */
#define AMID_LWS_WRITE_CLOSE ((enum lws_write_protocol)4)

static const char *const class_names[] = {"system", "call",     "log",       "verbose", "command",
                                          "agent",  "user",     "config",    "dtmf",    "reporting",
                                          "cdr",    "dialplan", "originate", "agi",     "cc",
                                          "aoc",    "test",     "security",  "message", NULL};

uint32_t amid_classes_of(const char *priv)
{
    uint32_t m = 0;
    if (!priv)
        return 0;
    const char *p = priv;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        for (int i = 0; class_names[i]; i++)
            if (strlen(class_names[i]) == n && strncasecmp(class_names[i], p, n) == 0)
                m |= 1u << i;
        if (!e)
            break;
        p = e + 1;
    }
    return m;
}

uint32_t amid_token_event_mask(const amid_token *t)
{
    if (t->events.all)
        return AMID_CLASS_ALL;
    uint32_t m = 0;
    for (size_t i = 0; i < t->events.n; i++)
        m |= amid_classes_of(t->events.v[i]);
    return m;
}

amid_msg *amid_msg_new(const char *json, size_t len)
{
    amid_msg *m = malloc(sizeof *m + LWS_PRE + len + 1);
    if (!m)
        return NULL;
    m->refs = 1;
    m->classes = AMID_CLASS_ALL;
    m->seq = 0;
    m->server = 0;
    m->name_off = 0;
    m->msgid_off = 0;
    m->len = len;
    memcpy(m->buf + LWS_PRE, json, len);
    m->buf[LWS_PRE + len] = '\0';
    return m;
}

/* Letters, digits and '-' stay; every other byte (the '.', '*', '>' and
 * spaces a subject cannot hold, and '_' itself, which keeps the mapping
 * one to one) becomes _XX in upper-case hex. The message id (built by
 * msgid.c from checked parts: no bytes a header cannot hold) follows. */
amid_msg *amid_msg_set_nats(amid_msg *m, const char *name, const char *msgid)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!name || !*name)
        name = "_";
    size_t n = strnlen(name, 128), need = 0; /* a subject stays under 512 bytes */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        need += (isalnum(c) && c < 0x80) || c == '-' ? 1 : 3;
    }
    size_t idl = msgid ? strnlen(msgid, AMID_MSGID_MAX) : 0;
    size_t off = LWS_PRE + m->len + 1;
    amid_msg *r = realloc(m, sizeof *m + off + need + 1 + (msgid ? idl + 1 : 0));
    if (!r) {
        free(m);
        return NULL;
    }
    if (msgid) {
        r->msgid_off = off + need + 1;
        memcpy(r->buf + r->msgid_off, msgid, idl);
        r->buf[r->msgid_off + idl] = '\0';
    }
    char *o = (char *)r->buf + off;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if ((isalnum(c) && c < 0x80) || c == '-')
            *o++ = (char)c;
        else {
            *o++ = '_';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    r->name_off = off;
    return r;
}

amid_msg *amid_msg_ref(amid_msg *m)
{
    m->refs++;
    return m;
}

void amid_msg_unref(amid_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

int amid_hub_init(amid_server *s, size_t ring_events)
{
    s->ring_cap = ring_events;
    s->ring = calloc(ring_events, sizeof *s->ring);
    return s->ring ? 0 : -1;
}

void amid_hub_free(amid_server *s)
{
    for (size_t i = 0; i < s->ring_count; i++)
        amid_msg_unref(s->ring[(s->ring_head + i) % s->ring_cap]);
    free(s->ring);
    s->ring = NULL;
    s->ring_count = 0;
}

static amid_msg *ring_at(amid_server *s, size_t i)
{
    return s->ring[(s->ring_head + i) % s->ring_cap];
}

static void ring_push(amid_server *s, amid_msg *m)
{
    while (s->ring_count &&
           (s->ring_count == s->ring_cap || s->ring_bytes + m->len > amid->cfg.ring_bytes)) {
        amid_msg *old = s->ring[s->ring_head];
        s->ring_head = (s->ring_head + 1) % s->ring_cap;
        s->ring_count--;
        s->ring_bytes -= old->len;
        amid_msg_unref(old);
    }
    s->ring[(s->ring_head + s->ring_count) % s->ring_cap] = amid_msg_ref(m);
    s->ring_count++;
    s->ring_bytes += m->len;
}

/* ---------------------------------------------------------- filters */

int amid_client_filter_match_packet(const amid_client *c, const ami_packet *p)
{
    for (size_t i = 0; i < c->n_filters; i++) {
        size_t cur = 0, vl;
        const char *v;
        int hit = 0;
        while ((v = ami_packet_next_value(p, c->filter_key[i], &cur, &vl)) != NULL) {
            if (strlen(c->filter_val[i]) == vl && memcmp(v, c->filter_val[i], vl) == 0) {
                hit = 1;
                break;
            }
        }
        if (!hit)
            return 0;
    }
    return 1;
}

/* Replayed messages have no packet any more: match on their JSON. */
static int filter_match_msg(const amid_client *c, amid_msg *m)
{
    if (!c->n_filters)
        return 1;
    json_t *root = json_loadb((const char *)amid_msg_data(m), m->len, 0, NULL);
    json_t *ev = root ? json_object_get(root, "event") : NULL;
    int ok = ev != NULL;
    for (size_t i = 0; ok && i < c->n_filters; i++) {
        ok = 0;
        const char *k;
        json_t *v;
        json_object_foreach(ev, k, v)
        {
            if (strcasecmp(k, c->filter_key[i]) != 0)
                continue;
            if (json_is_string(v))
                ok = strcmp(json_string_value(v), c->filter_val[i]) == 0;
            else if (json_is_array(v)) {
                size_t j;
                json_t *e;
                json_array_foreach(v, j, e) ok |=
                    json_is_string(e) && !strcmp(json_string_value(e), c->filter_val[i]);
            }
        }
    }
    json_decref(root);
    return ok;
}

/* ------------------------------------------------------- client queue */

static void wake(amid_client *c)
{
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

/* A subscriber lost [from, to]: its pending gap (sent before its next
 * event) grows to cover it, with the latest reason. */
static void widen_gap(amid_sub *sub, uint64_t from, uint64_t to, const char *reason)
{
    if (!sub->gap_from)
        sub->gap_from = from;
    sub->gap_to = to;
    sub->gap_reason = reason;
}

static void drop_backlog(amid_client *c)
{
    for (size_t i = 0; i < c->q_count; i++) {
        amid_msg *m = c->q[(c->q_head + i) % c->q_cap];
        /* Each dropped event widens its server's pending gap. */
        for (size_t k = 0; k < c->n_subs; k++) {
            amid_sub *sub = &c->subs[k];
            if (sub->srv->index == m->server) {
                widen_gap(sub, m->seq, m->seq, "slow_client");
            }
        }
        amid_msg_unref(m);
    }
    c->dropped_events += c->q_count;
    c->q_head = c->q_count = 0;
    c->q_bytes = 0;
    c->drops++;
    amid->ws_drops++;
    if (!c->behind_since_ms)
        c->behind_since_ms = amid_now_ms();
}

int amid_client_queue_append(amid_client *c, amid_msg *m)
{
    if (c->q_bytes + m->len > amid->cfg.client_queue_bytes)
        return -1;
    if (c->q_count == c->q_cap) {
        size_t ncap = c->q_cap ? c->q_cap * 2 : 64;
        amid_msg **nq = malloc(ncap * sizeof *nq);
        if (!nq)
            return -1;
        for (size_t i = 0; i < c->q_count; i++)
            nq[i] = c->q[(c->q_head + i) % c->q_cap];
        free(c->q);
        c->q = nq;
        c->q_cap = ncap;
        c->q_head = 0;
    }
    c->q[(c->q_head + c->q_count) % c->q_cap] = amid_msg_ref(m);
    c->q_count++;
    c->q_bytes += m->len;
    wake(c);
    return 0;
}

/* A state client that falls behind loses its queued changes and gets a
 * fresh snapshot instead: the state's own kind of gap. */
void amid_client_drop_all(amid_client *c)
{
    for (size_t i = 0; i < c->q_count; i++)
        amid_msg_unref(c->q[(c->q_head + i) % c->q_cap]);
    c->q_head = c->q_count = 0;
    c->q_bytes = 0;
    c->drops++;
    amid->ws_drops++;
    if (!c->behind_since_ms)
        c->behind_since_ms = amid_now_ms();
    wake(c);
}

void amid_client_push(amid_client *c, amid_msg *m, amid_sub *sub)
{
    if (c->closing)
        return;
    if (c->q_bytes + m->len > amid->cfg.client_queue_bytes) {
        drop_backlog(c);
        /* This one is lost too: it would not fit after the others. */
        if (m->len > amid->cfg.client_queue_bytes) {
            widen_gap(sub, m->seq, m->seq, "slow_client");
            wake(c);
            return;
        }
    }
    if (c->q_count == c->q_cap) {
        size_t ncap = c->q_cap ? c->q_cap * 2 : 64;
        amid_msg **nq = malloc(ncap * sizeof *nq);
        if (!nq) {
            drop_backlog(c);
            widen_gap(sub, m->seq, m->seq, "no_memory");
            wake(c);
            return;
        }
        for (size_t i = 0; i < c->q_count; i++)
            nq[i] = c->q[(c->q_head + i) % c->q_cap];
        free(c->q);
        c->q = nq;
        c->q_cap = ncap;
        c->q_head = 0;
    }
    c->q[(c->q_head + c->q_count) % c->q_cap] = amid_msg_ref(m);
    c->q_count++;
    c->q_bytes += m->len;
    wake(c);
}

int amid_client_push_ctl(amid_client *c, amid_msg *m)
{
    if (!c->ctl)
        c->ctl = calloc(AMID_MAX_CONTROL, sizeof *c->ctl);
    if (!c->ctl || c->ctl_count == AMID_MAX_CONTROL) {
        /* Replies are never dropped: a client that lets this many pile up
         * unread is closed instead. */
        amid_msg_unref(m);
        if (!c->closing) {
            c->closing = 1;
            snprintf(c->close_reason, sizeof c->close_reason, "too many unread replies");
        }
        wake(c);
        return -1;
    }
    c->ctl[(c->ctl_head + c->ctl_count) % AMID_MAX_CONTROL] = m;
    c->ctl_count++;
    wake(c);
    return 0;
}

void amid_client_free_queues(amid_client *c)
{
    for (size_t i = 0; i < c->q_count; i++)
        amid_msg_unref(c->q[(c->q_head + i) % c->q_cap]);
    free(c->q);
    c->q = NULL;
    c->q_count = 0;
    for (size_t i = 0; i < c->ctl_count; i++)
        amid_msg_unref(c->ctl[(c->ctl_head + i) % AMID_MAX_CONTROL]);
    free(c->ctl);
    c->ctl = NULL;
    c->ctl_count = 0;
}

amid_msg *amid_gap_msg(amid_server *s, uint64_t from, uint64_t to, const char *reason,
                       const char *lost_epoch)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "type", "gap", "server", s->conf->name, "epoch", amid->epoch);
    if (!o)
        return NULL;
    if (from) {
        json_object_set_new(o, "from", json_integer((json_int_t)from));
        json_object_set_new(o, "to", json_integer((json_int_t)to));
    }
    json_object_set_new(o, "reason", json_string(reason));
    if (lost_epoch)
        json_object_set_new(o, "lost_epoch", json_string(lost_epoch));
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!txt)
        return NULL;
    amid_msg *m = amid_msg_new(txt, strlen(txt));
    free(txt);
    return m;
}

static int client_wants(const amid_client *c, amid_msg *m)
{
    return ((m->classes & c->event_mask) || c->event_mask == AMID_CLASS_ALL) &&
           filter_match_msg(c, m);
}

/* A resuming subscriber reads the shared ring in place, at its own pace:
 * its backlog costs no memory and is never dropped, unless the ring itself
 * moves past it (then a gap names what was evicted). Returns a referenced
 * message, or NULL with *more set when the caller should look again. */
static amid_msg *next_replay(amid_client *c, int *more)
{
    *more = 0;
    for (size_t k = 0; k < c->n_subs; k++) {
        amid_sub *sub = &c->subs[k];
        amid_server *s = sub->srv;
        if (!sub->cursor)
            continue;
        uint64_t first = s->ring_count ? ring_at(s, 0)->seq : s->seq + 1;
        if (sub->cursor < first) {
            widen_gap(sub, sub->cursor, first - 1, "ring");
            sub->cursor = first;
            *more = 1;
            return NULL;
        }
        if (sub->cursor > s->seq) {
            sub->cursor = 0; /* caught up: live from now */
            *more = 1;
            return NULL;
        }
        amid_msg *m = ring_at(s, (size_t)(sub->cursor - first));
        sub->cursor++;
        *more = 1;
        if (!client_wants(c, m))
            return NULL;
        return amid_msg_ref(m);
    }
    return NULL;
}

/* Writes what the socket takes: pending gaps first (they precede every
 * event queued after the drop), then replies, then events. Returns -1 to
 * have lws close the connection. */
int amid_client_write(amid_client *c)
{
    struct lws *wsi = c->wsi;
    if (c->closing) {
        /* The pending gap first, so the client knows what it lost, then
         * the close with its reason. */
        for (size_t k = 0; k < c->n_subs; k++) {
            amid_sub *sub = &c->subs[k];
            if (!sub->gap_from)
                continue;
            amid_msg *g = amid_gap_msg(sub->srv, sub->gap_from, sub->gap_to, sub->gap_reason, NULL);
            sub->gap_from = sub->gap_to = 0;
            if (g) {
                int w = lws_write(wsi, amid_msg_data(g), g->len, LWS_WRITE_TEXT);
                amid_msg_unref(g);
                if (w < 0)
                    return -1;
            }
            /* The close frame goes out on the next writable, once lws has
             * flushed this. */
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (c->close_sent)
            return 0;
        /* The close frame is written here rather than through
         * lws_close_reason() + return -1: lws 4.1.6 on libuv kills the
         * socket in that path before the frame goes out ("uv repeat test"
         * in __lws_close_free_wsi), so clients would see 1006 and no
         * reason. lws then handles the peer's close reply; the timeout
         * ends it if none comes. */
        unsigned code = strncmp(c->close_reason, "amid is shutting", 16)
                            ? LWS_CLOSE_STATUS_POLICY_VIOLATION
                            : LWS_CLOSE_STATUS_GOINGAWAY;
        unsigned char frame[LWS_PRE + 125];
        size_t rl = strlen(c->close_reason);
        if (rl > 123)
            rl = 123;
        frame[LWS_PRE] = (unsigned char)(code >> 8);
        frame[LWS_PRE + 1] = (unsigned char)(code & 0xff);
        memcpy(frame + LWS_PRE + 2, c->close_reason, rl);
        if (lws_write(wsi, frame + LWS_PRE, rl + 2, AMID_LWS_WRITE_CLOSE) < 0)
            return -1;
        c->close_sent = 1;
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, 3);
        return 0;
    }
    int budget = 256;
    while (budget-- > 0 && !lws_send_pipe_choked(wsi)) {
        amid_msg *m = NULL;
        int owned = 0;
        for (size_t k = 0; k < c->n_subs && !m; k++) {
            amid_sub *sub = &c->subs[k];
            if (sub->gap_from) {
                m = amid_gap_msg(sub->srv, sub->gap_from, sub->gap_to, sub->gap_reason, NULL);
                sub->gap_from = sub->gap_to = 0;
                owned = 1;
                if (!m)
                    return -1;
            }
        }
        /* Control messages (a PBX gap notice, action replies) before a
         * snapshot: the gap that made the snapshot necessary must reach
         * the client first, even when the resync beat its write. */
        if (!m && c->ctl_count) {
            m = c->ctl[c->ctl_head];
            c->ctl_head = (c->ctl_head + 1) % AMID_MAX_CONTROL;
            c->ctl_count--;
            owned = 1;
        }
        if (!m && c->need_snapshot && c->state_srv) {
            /* Built now, so it includes every change up to this write;
             * changes queued after it re-apply harmlessly (by id). */
            c->need_snapshot = 0;
            m = amid_state_snapshot_msg(c->state_srv);
            owned = 1;
            if (!m)
                return -1;
        }
        if (!m && c->q_count) {
            m = c->q[c->q_head];
            c->q_head = (c->q_head + 1) % c->q_cap;
            c->q_count--;
            c->q_bytes -= m->len;
            owned = 1; /* the queue's reference */
        }
        if (!m) {
            int more = 0;
            m = next_replay(c, &more);
            owned = 1;
            if (!m && more)
                continue; /* a gap to send, or filtered events skipped */
        }
        if (!m)
            break;
        int w = lws_write(wsi, amid_msg_data(m), m->len, LWS_WRITE_TEXT);
        if (owned)
            amid_msg_unref(m);
        if (w < 0)
            return -1;
        c->sent++;
    }
    int replaying = 0;
    for (size_t k = 0; k < c->n_subs; k++)
        replaying |= c->subs[k].cursor != 0 || c->subs[k].gap_from != 0;
    if (c->q_count || c->ctl_count || replaying || c->need_snapshot)
        lws_callback_on_writable(wsi);
    else
        c->behind_since_ms = 0; /* caught up */
    return 0;
}

/* --------------------------------------------------------- publishing */

static void fan_out(amid_server *s, amid_msg *m, const ami_packet *p)
{
    for (amid_sub *sub = s->subs; sub; sub = sub->next_in_server) {
        amid_client *c = sub->client;
        if (sub->cursor) {
            wake(c); /* it reads this one from the ring */
            continue;
        }
        if (!(m->classes & c->event_mask) && c->event_mask != AMID_CLASS_ALL)
            continue;
        if (p && c->n_filters && !amid_client_filter_match_packet(c, p))
            continue;
        amid_client_push(c, m, sub);
    }
}

static amid_msg *encode(amid_server *s, const ami_packet *p, const char *type)
{
    if (!type) {
        amid_msg *m = amid_encode_event(s->conf->name, s->seq + 1, amid->epoch, p);
        if (!m)
            return NULL;
        m->seq = ++s->seq;
        m->server = s->index;
        return m;
    }
    json_t *ev = amid_packet_json(p);
    if (!ev)
        return NULL;
    json_t *o = json_object();
    if (type)
        json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "server", json_string(s->conf->name));
    json_object_set_new(o, "seq", json_integer((json_int_t)(s->seq + 1)));
    json_object_set_new(o, "epoch", json_string(amid->epoch));
    if (type)
        json_object_set_new(o, "reason", json_string("pbx_reconnect"));
    json_object_set_new(o, "event", ev);
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!txt)
        return NULL;
    amid_msg *m = amid_msg_new(txt, strlen(txt));
    free(txt);
    if (!m)
        return NULL;
    m->seq = ++s->seq;
    m->server = s->index;
    return m;
}

void amid_hub_publish(amid_server *s, const ami_packet *p)
{
    amid_msg *m = encode(s, p, NULL);
    if (!m) {
        /* Out of memory: the number is spent, so subscribers see a gap. */
        s->seq++;
        return;
    }
    m->classes = amid_classes_of(ami_packet_get(p, "Privilege"));
    if (amid->cfg.nats.enabled) {
        /* Hashed here, from the AMI headers, while the packet is at hand:
         * the ring keeps only the JSON. */
        char id[AMID_MSGID_MAX];
        int has_id = amid_event_msgid(s->conf->name, p, id, sizeof id) == 0;
        if (!(m = amid_msg_set_nats(m, ami_packet_event_name(p), has_id ? id : NULL)))
            return; /* out of memory: its number is spent, a gap */
    }
    s->events_total++;
    ring_push(s, m);
    fan_out(s, m, p);
    amid_msg_unref(m);
    amid_nats_kick(s);
}

void amid_hub_publish_pbx_gap(amid_server *s, const ami_packet *p)
{
    amid_msg *m = encode(s, p, "gap");
    if (!m) {
        s->seq++;
        return;
    }
    m->classes = AMID_CLASS_ALL; /* every subscriber must learn of it */
    s->pbx_gaps++;
    ring_push(s, m);
    for (amid_sub *sub = s->subs; sub; sub = sub->next_in_server) {
        if (sub->cursor)
            wake(sub->client);
        else
            amid_client_push(sub->client, m, sub);
    }
    amid_msg_unref(m);
    amid_nats_kick(s);
}

/* --------------------------------------------------------- subscribe */

int amid_hub_subscribe(amid_client *c, amid_server *s, int has_since, const char *since_epoch,
                       uint64_t since_seq)
{
    amid_sub *sub = &c->subs[c->n_subs++];
    memset(sub, 0, sizeof *sub);
    sub->client = c;
    sub->srv = s;
    sub->next_in_server = s->subs;
    if (s->subs)
        s->subs->prev_in_server = sub;
    s->subs = sub;
    if (!has_since)
        return 0;
    uint64_t first = s->ring_count ? ring_at(s, 0)->seq : s->seq + 1;
    uint64_t want; /* first sequence number the client lacks */
    if (strcmp(since_epoch, amid->epoch) != 0) {
        /* Another epoch: what came after `since` there is gone, and so is
         * whatever of this epoch the ring no longer holds. */
        amid_msg *g = amid_gap_msg(s, 1, first - 1, "epoch", since_epoch);
        if (g)
            amid_client_push_ctl(c, g);
        want = first;
    } else {
        want = since_seq + 1;
        if (want > s->seq + 1)
            want = s->seq + 1; /* from the future: live from now */
    }
    /* The writer reads the ring from `want` (a gap first when the ring no
     * longer reaches back that far), then goes live. */
    sub->cursor = want <= s->seq ? want : 0;
    wake(c);
    return 0;
}

void amid_hub_unsubscribe(amid_sub *sub)
{
    amid_server *s = sub->srv;
    if (sub->prev_in_server)
        sub->prev_in_server->next_in_server = sub->next_in_server;
    else
        s->subs = sub->next_in_server;
    if (sub->next_in_server)
        sub->next_in_server->prev_in_server = sub->prev_in_server;
    sub->next_in_server = sub->prev_in_server = NULL;
}
