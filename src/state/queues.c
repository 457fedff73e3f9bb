/*
 * Queues: parameters (QueueParams), members by queue and Interface, and
 * callers waiting, in Position order. QueueStatus's QueueMember says
 * Location/Name where every queue event says Interface/MemberName: the
 * store keeps the event names.
 */
#include "state_internal.h"

#include <stdio.h>
#include <string.h>

#define ST_MAX_ID 1024

static bool skip_key(const char *k, size_t kl)
{
    return (kl == 5 && memcmp(k, "Event", 5) == 0) || (kl == 8 && memcmp(k, "ActionID", 8) == 0) ||
           (kl == 9 && memcmp(k, "Privilege", 9) == 0);
}

/* Every header but Event/ActionID/Privilege, renaming QueueMember's. */
static void all_fields(const ami_packet *ev, st_patch *p, bool rename)
{
    for (size_t i = 0; i < ev->count; i++) {
        const ami__header *h = &ev->headers[i];
        if (h->key_off >= AMI__KEY_BANNER)
            continue;
        const char *k = ev->base + h->key_off;
        const char *v = ev->base + h->value_off;
        if (skip_key(k, h->key_len))
            continue;
        if (rename && h->key_len == 8 && memcmp(k, "Location", 8) == 0)
            ami__st_patch_adds(p, "Interface", v, h->value_len);
        else if (rename && h->key_len == 4 && memcmp(k, "Name", 4) == 0)
            ami__st_patch_adds(p, "MemberName", v, h->value_len);
        else
            ami__st_patch_add(p, k, h->key_len, v, h->value_len);
    }
}

/* "a/b" into buf; 0 when it does not fit. */
static size_t join(char *buf, const char *a, size_t al, const char *b, size_t bl)
{
    if (al + bl + 2 > ST_MAX_ID)
        return 0;
    memcpy(buf, a, al);
    buf[al] = '/';
    memcpy(buf + al + 1, b, bl);
    buf[al + 1 + bl] = '\0';
    return al + 1 + bl;
}

static ami_state_object *ensure_queue(ami_state *st, const char *q, size_t ql, int *rc)
{
    ami_state_object *o = ami__st_find(st, AMI_STATE_QUEUE, q, ql);
    *rc = 0;
    if (o)
        return o;
    st_patch p;
    p.n = 0;
    ami__st_patch_adds(&p, "Queue", q, ql);
    *rc = ami__st_upsert(st, AMI_STATE_QUEUE, q, ql, &p, true, &o);
    return o;
}

static long position_of(const ami_state_object *o)
{
    size_t vl = 0;
    const char *v = ami__st_value(o, "Position", &vl);
    long n = 0;
    if (!v || !vl || vl > 9)
        return 1000000000L;
    for (size_t i = 0; i < vl; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 1000000000L;
        n = n * 10 + (v[i] - '0');
    }
    return n;
}

/* (Re)place a caller under its queue in Position order. */
static void place_caller(ami_state_object *q, ami_state_object *c)
{
    if (c->parent)
        ami__st_unlink_child(c);
    long pos = position_of(c);
    ami_state_object *after = q->last[1];
    while (after && position_of(after) > pos)
        after = after->sprev;
    ami__st_link_child(q, 1, c, after);
}

static int member(ami_state *st, const ami_packet *ev, bool rename, bool create)
{
    size_t ql = 0, il = 0;
    const char *q = ami_packet_getn(ev, "Queue", &ql);
    const char *itf = ami_packet_getn(ev, rename ? "Location" : "Interface", &il);
    if (!q || !itf || !ql || !il) {
        st->stats.contradictions++;
        return 0;
    }
    char id[ST_MAX_ID];
    size_t len = join(id, q, ql, itf, il);
    if (!len) {
        st->stats.refused++;
        return 0;
    }
    int rc = 0, r;
    ami_state_object *queue = ensure_queue(st, q, ql, &rc);
    if (!queue)
        return rc;
    st_patch p;
    p.n = 0;
    all_fields(ev, &p, rename);
    ami_state_object *m = NULL;
    r = ami__st_upsert(st, AMI_STATE_MEMBER, id, len, &p, create, &m);
    if (m && !m->parent)
        ami__st_link_child(queue, 0, m, queue->last[0]);
    return st_rc(rc, r);
}

static int caller_fields(ami_state *st, const ami_packet *ev, const char *q, size_t ql,
                         ami_state_object **out)
{
    static const char *const keep[] = {
        "Queue",       "Position",     "Channel",          "Uniqueid",
        "CallerIDNum", "CallerIDName", "ConnectedLineNum", "ConnectedLineName"};
    size_t ul = 0;
    const char *uid = ami_packet_getn(ev, "Uniqueid", &ul);
    *out = NULL;
    if (!uid || !ul) {
        st->stats.contradictions++;
        return 0;
    }
    char id[ST_MAX_ID];
    size_t len = join(id, q, ql, uid, ul);
    if (!len) {
        st->stats.refused++;
        return 0;
    }
    int rc = 0, r;
    ami_state_object *queue = ensure_queue(st, q, ql, &rc);
    if (!queue)
        return rc;
    st_patch p;
    p.n = 0;
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        size_t vl = 0;
        const char *v = ami_packet_getn(ev, keep[i], &vl);
        if (v)
            ami__st_patch_adds(&p, keep[i], v, vl);
    }
    ami_state_object *c = NULL;
    bool existed = ami__st_find(st, AMI_STATE_CALLER, id, len) != NULL;
    long before = existed ? position_of(ami__st_find(st, AMI_STATE_CALLER, id, len)) : -1;
    r = ami__st_upsert(st, AMI_STATE_CALLER, id, len, &p, true, &c);
    if (c && (!c->parent || position_of(c) != before))
        place_caller(queue, c);
    *out = c;
    return st_rc(rc, r);
}

static int set_calls(ami_state *st, const ami_packet *ev, const char *q, size_t ql)
{
    size_t cl = 0;
    const char *count = ami_packet_getn(ev, "Count", &cl);
    ami_state_object *queue = ami__st_find(st, AMI_STATE_QUEUE, q, ql);
    if (!count || !queue)
        return 0;
    st_patch p;
    p.n = 0;
    ami__st_patch_adds(&p, "Calls", count, cl);
    return ami__st_update(st, queue, &p);
}

static int caller_leave(ami_state *st, const ami_packet *ev, const char *q, size_t ql)
{
    size_t ul = 0;
    const char *uid = ami_packet_getn(ev, "Uniqueid", &ul);
    char id[ST_MAX_ID];
    size_t len = uid ? join(id, q, ql, uid, ul) : 0;
    ami_state_object *c = len ? ami__st_find(st, AMI_STATE_CALLER, id, len) : NULL;
    if (!c) {
        st->stats.contradictions++;
        return set_calls(st, ev, q, ql);
    }
    ami_state_object *queue = c->parent;
    long pos = position_of(c);
    ami__st_remove(st, c);
    int rc = 1;
    /* Asterisk moves everyone behind up by one. */
    for (ami_state_object *o = queue ? queue->first[1] : NULL; o; o = o->snext) {
        long p = position_of(o);
        if (p > pos && p < 1000000000L) {
            char buf[16];
            int n = snprintf(buf, sizeof buf, "%ld", p - 1);
            st_patch patch;
            patch.n = 0;
            ami__st_patch_adds(&patch, "Position", buf, (size_t)n);
            rc = st_rc(rc, ami__st_update(st, o, &patch));
        }
    }
    return st_rc(rc, set_calls(st, ev, q, ql));
}

int ami__st_queue_event(ami_state *st, int what, const ami_packet *ev)
{
    size_t ql = 0;
    const char *q = ami_packet_getn(ev, "Queue", &ql);
    int rc = 0, r = 0;
    if (what == ST_EV_AGENT) {
        ami__st_channel_refresh(st, ev, "", false, NULL, &rc);
        ami__st_channel_refresh(st, ev, "Dest", false, NULL, &r);
        return st_rc(rc, r);
    }
    if (!q || !ql) {
        st->stats.contradictions++;
        return 0;
    }
    ami_state_object *o = NULL;
    switch (what) {
    case ST_EV_QUEUE_PARAMS: {
        st_patch p;
        p.n = 0;
        all_fields(ev, &p, false);
        return ami__st_upsert(st, AMI_STATE_QUEUE, q, ql, &p, true, &o);
    }
    case ST_EV_QUEUE_MEMBER:
        return member(st, ev, true, true);
    case ST_EV_QUEUE_MEMBER_UPDATE:
    case ST_EV_QUEUE_MEMBER_ADDED:
        return member(st, ev, false, true);
    case ST_EV_QUEUE_MEMBER_REMOVED: {
        size_t il = 0;
        const char *itf = ami_packet_getn(ev, "Interface", &il);
        char id[ST_MAX_ID];
        size_t len = itf ? join(id, q, ql, itf, il) : 0;
        o = len ? ami__st_find(st, AMI_STATE_MEMBER, id, len) : NULL;
        if (!o) {
            st->stats.contradictions++;
            return 0;
        }
        ami__st_remove(st, o);
        return 1;
    }
    case ST_EV_QUEUE_ENTRY: {
        rc = caller_fields(st, ev, q, ql, &o);
        if (o && rc > 0) {
            /* Wait: seconds it has waited so far. */
            const char *w = ami_packet_get(ev, "Wait");
            unsigned long secs = 0;
            for (const char *c = w; c && *c >= '0' && *c <= '9' && secs < 100000000ul; c++)
                secs = secs * 10 + (unsigned long)(*c - '0');
            if (o->created == st->now && st->now > secs * 1000)
                o->created = st->now - secs * 1000;
        }
        return rc;
    }
    case ST_EV_QUEUE_CALLER_JOIN: {
        if (!ami__st_channel_refresh(st, ev, "", false, NULL, &rc))
            st->stats.contradictions++;
        rc = st_rc(rc, caller_fields(st, ev, q, ql, &o));
        return st_rc(rc, set_calls(st, ev, q, ql));
    }
    case ST_EV_QUEUE_CALLER_LEAVE:
        ami__st_channel_refresh(st, ev, "", false, NULL, &rc);
        return st_rc(rc, caller_leave(st, ev, q, ql));
    case ST_EV_QUEUE_CALLER_ABANDON:
        /* QueueCallerLeave follows and removes the caller. */
        ami__st_channel_refresh(st, ev, "", false, NULL, &rc);
        return rc;
    default:
        return 0;
    }
}
