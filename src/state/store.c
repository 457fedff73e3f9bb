/*
 * The store: objects, their one-allocation header blobs, the id and
 * channel-name indexes, insertion-ordered kind lists, and the change
 * notifications. Everything that changes an object goes through
 * ami__st_upsert / ami__st_update / ami__st_remove, so the indexes, the
 * counters and the callback never disagree.
 */
#include "state_internal.h"

#include <string.h>

#define ST_MAX_HEADERS 255u

uint32_t ami__st_hash(const char *s, size_t n, uint32_t seed)
{
    uint32_t h = 2166136261u ^ (seed * 16777619u);
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static const char *blob_id(const st_blob *b)
{
    return st_blob_data(b);
}

static bool same(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && st_eq(a, b, al);
}

/* ------------------------------------------------------------- indexes */

static void grow_index(ami_state_object ***tab, size_t *mask, size_t count, bool names)
{
    if (count <= *mask + 1 && *tab)
        return;
    size_t n = *tab ? (*mask + 1) * 2 : 64;
    ami_state_object **nt = ami__calloc(n, sizeof(*nt));
    if (!nt)
        return; /* longer chains, still correct */
    if (*tab) {
        for (size_t i = 0; i <= *mask; i++) {
            ami_state_object *o = (*tab)[i];
            while (o) {
                ami_state_object *next = names ? o->nnext : o->hnext;
                uint32_t h = names ? o->name_hash : o->hash;
                if (names) {
                    o->nnext = nt[h & (n - 1)];
                } else {
                    o->hnext = nt[h & (n - 1)];
                }
                nt[h & (n - 1)] = o;
                o = next;
            }
        }
        ami__free(*tab);
    }
    *tab = nt;
    *mask = n - 1;
}

ami_state_object *ami__st_find(const ami_state *st, ami_state_kind kind, const char *id, size_t len)
{
    if (!st->idx || !id)
        return NULL;
    uint32_t h = ami__st_hash(id, len, (uint32_t)kind + 1);
    for (ami_state_object *o = st->idx[h & st->idx_mask]; o; o = o->hnext) {
        if (o->hash == h && o->kind == kind && o->blob->id_len == len &&
            st_eq(blob_id(o->blob), id, len))
            return o;
    }
    return NULL;
}

const char *ami__st_value(const ami_state_object *o, const char *key, size_t *len)
{
    const st_blob *b = o->blob;
    const char *d = st_blob_data(b);
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->h[i].klen == kl && st_eq(d + b->h[i].koff, key, kl)) {
            if (len)
                *len = b->h[i].vlen;
            return d + b->h[i].voff;
        }
    }
    return NULL;
}

ami_state_object *ami__st_find_name(const ami_state *st, const char *name, size_t len)
{
    if (!st->names || !name)
        return NULL;
    uint32_t h = ami__st_hash(name, len, 0);
    for (ami_state_object *o = st->names[h & st->names_mask]; o; o = o->nnext) {
        size_t vl;
        const char *v;
        if (o->name_hash == h && (v = ami__st_value(o, "Channel", &vl)) && same(v, vl, name, len))
            return o;
    }
    return NULL;
}

static void name_unlink(ami_state *st, ami_state_object *o)
{
    if (!st->names)
        return;
    ami_state_object **pp = &st->names[o->name_hash & st->names_mask];
    for (; *pp; pp = &(*pp)->nnext) {
        if (*pp == o) {
            *pp = o->nnext;
            o->nnext = NULL;
            return;
        }
    }
}

static void name_link(ami_state *st, ami_state_object *o)
{
    size_t vl = 0;
    const char *v = ami__st_value(o, "Channel", &vl);
    o->name_hash = ami__st_hash(v ? v : "", vl, 0);
    grow_index(&st->names, &st->names_mask, st->count[AMI_STATE_CHANNEL], true);
    if (!st->names)
        return;
    o->nnext = st->names[o->name_hash & st->names_mask];
    st->names[o->name_hash & st->names_mask] = o;
}

/* --------------------------------------------------------------- calls */

static void call_unlink(ami_state *st, ami_state_object *o)
{
    st_call *c = o->call;
    if (!c)
        return;
    if (o->cprev)
        o->cprev->cnext = o->cnext;
    else
        c->first = o->cnext;
    if (o->cnext)
        o->cnext->cprev = o->cprev;
    else
        c->last = o->cprev;
    o->call = NULL;
    o->cprev = o->cnext = NULL;
    if (--c->count)
        return;
    st_call **pp = &st->calls[c->hash & st->calls_mask];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    if (c->prev)
        c->prev->next = c->next;
    else
        st->call_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        st->call_tail = c->prev;
    st->call_count--;
    st->stats.bytes -= sizeof(*c) + c->len + 1;
    ami__free(c);
}

static void grow_calls(ami_state *st)
{
    if (st->calls && st->call_count <= st->calls_mask + 1)
        return;
    size_t n = st->calls ? (st->calls_mask + 1) * 2 : 64;
    st_call **nt = ami__calloc(n, sizeof(*nt));
    if (!nt)
        return;
    if (st->calls) {
        for (size_t i = 0; i <= st->calls_mask; i++) {
            for (st_call *c = st->calls[i], *next; c; c = next) {
                next = c->hnext;
                c->hnext = nt[c->hash & (n - 1)];
                nt[c->hash & (n - 1)] = c;
            }
        }
        ami__free(st->calls);
    }
    st->calls = nt;
    st->calls_mask = n - 1;
}

static st_call *call_find(const ami_state *st, const char *id, size_t len, uint32_t h)
{
    if (!st->calls)
        return NULL;
    for (st_call *c = st->calls[h & st->calls_mask]; c; c = c->hnext) {
        if (c->hash == h && same(c->linkedid, c->len, id, len))
            return c;
    }
    return NULL;
}

/* The Linkedid a channel is grouped by: up to a NUL, as the C-string
 * lookups see it; without one, a call of its own. */
static const char *linkedid_of(const ami_state_object *o, size_t *len)
{
    const char *id = ami__st_value(o, "Linkedid", len);
    if (!id)
        id = blob_id(o->blob), *len = o->blob->id_len;
    *len = strnlen(id, *len);
    return id;
}

static int call_link(ami_state *st, ami_state_object *o)
{
    size_t len = 0;
    const char *id = linkedid_of(o, &len);
    uint32_t h = ami__st_hash(id, len, 7);
    st_call *c = call_find(st, id, len, h);
    if (!c) {
        grow_calls(st);
        if (!st->calls || !(c = ami__malloc(sizeof(*c) + len + 1)))
            return AMI_ERR_NOMEM;
        memset(c, 0, sizeof(*c));
        memcpy(c->linkedid, id, len);
        c->linkedid[len] = '\0';
        c->len = (uint32_t)len;
        c->hash = h;
        c->hnext = st->calls[h & st->calls_mask];
        st->calls[h & st->calls_mask] = c;
        c->prev = st->call_tail;
        if (st->call_tail)
            st->call_tail->next = c;
        else
            st->call_head = c;
        st->call_tail = c;
        st->call_count++;
        st->stats.bytes += sizeof(*c) + len + 1;
    }
    o->call = c;
    o->cprev = c->last;
    o->cnext = NULL;
    if (c->last)
        c->last->cnext = o;
    else
        c->first = o;
    c->last = o;
    c->count++;
    return 0;
}

int ami__st_channel_reindex(ami_state *st, ami_state_object *ch)
{
    name_unlink(st, ch);
    name_link(st, ch);
    size_t len = 0;
    const char *lid = linkedid_of(ch, &len);
    if (ch->call && same(ch->call->linkedid, ch->call->len, lid, len))
        return 0;
    call_unlink(st, ch);
    return call_link(st, ch);
}

/* ------------------------------------------------------------ children */

void ami__st_link_child(ami_state_object *parent, int slot, ami_state_object *child,
                        ami_state_object *after)
{
    child->parent = parent;
    child->sprev = after;
    child->snext = after ? after->snext : parent->first[slot];
    if (child->snext)
        child->snext->sprev = child;
    else
        parent->last[slot] = child;
    if (after)
        after->snext = child;
    else
        parent->first[slot] = child;
}

void ami__st_unlink_child(ami_state_object *child)
{
    ami_state_object *p = child->parent;
    if (!p)
        return;
    int slot = child->kind == AMI_STATE_CALLER ? 1 : 0;
    if (child->sprev)
        child->sprev->snext = child->snext;
    else
        p->first[slot] = child->snext;
    if (child->snext)
        child->snext->sprev = child->sprev;
    else
        p->last[slot] = child->sprev;
    child->parent = child->sprev = child->snext = NULL;
}

/* ------------------------------------------------------------- patches */

void ami__st_patch_add(st_patch *p, const char *k, size_t kl, const char *v, size_t vl)
{
    if (p->n >= ST_PATCH_MAX || kl > UINT32_MAX / 4 || vl > UINT32_MAX / 4)
        return;
    p->kv[p->n].k = k;
    p->kv[p->n].kl = (uint32_t)kl;
    p->kv[p->n].v = v;
    p->kv[p->n].vl = v ? (uint32_t)vl : 0;
    p->n++;
}

void ami__st_patch_adds(st_patch *p, const char *k, const char *v, size_t vl)
{
    ami__st_patch_add(p, k, strlen(k), v, vl);
}

typedef struct ref {
    const char *k, *v;
    uint32_t kl, vl;
} ref;

/* Find key in refs[0..n), starting at *hint (events repeat the same order). */
static long find_ref(const ref *r, size_t n, const char *k, size_t kl, size_t *hint)
{
    size_t i = *hint < n ? *hint : 0;
    for (size_t j = 0; j < n; j++, i++) {
        if (i == n)
            i = 0;
        if (r[i].k && r[i].kl == kl && st_eq(r[i].k, k, kl)) {
            *hint = i + 1;
            return (long)i;
        }
    }
    return -1;
}

/* Would `p` change blob `b`? Sets *ident when it changes a channel's
 * Channel or Linkedid (the name and call indexes then move). Events repeat
 * one header order, so the search starts where the last one matched. */
static bool patch_changes(const st_blob *b, const st_patch *p, bool *ident)
{
    const char *d = st_blob_data(b);
    uint32_t hint = 0, n = b->n;
    bool changed = false;
    *ident = false;
    for (size_t i = 0; i < p->n; i++) {
        const st_kv *kv = &p->kv[i];
        long at = -1;
        uint32_t x = hint < n ? hint : 0;
        for (uint32_t j = 0; j < n; j++, x++) {
            if (x == n)
                x = 0;
            if (b->h[x].klen == kv->kl && st_eq(d + b->h[x].koff, kv->k, kv->kl)) {
                at = x;
                hint = x + 1;
                break;
            }
        }
        bool differs = at < 0 ? kv->v != NULL
                              : !kv->v || !same(d + b->h[at].voff, b->h[at].vlen, kv->v, kv->vl);
        if (!differs)
            continue;
        changed = true;
        if ((kv->kl == 7 && st_eq(kv->k, "Channel", 7)) ||
            (kv->kl == 8 && st_eq(kv->k, "Linkedid", 8))) {
            *ident = true;
            return true;
        }
    }
    return changed;
}

/*
 * Build a blob: the id, then `old`'s headers with `p` merged in (replaced
 * in place, deleted, or appended). Headers past the byte bound are left
 * out and counted.
 */
static st_blob *build(ami_state *st, const st_blob *old, const char *id, size_t id_len,
                      const st_patch *p)
{
    ref r[ST_MAX_HEADERS + ST_PATCH_MAX];
    size_t n = 0;
    if (old) {
        const char *d = st_blob_data(old);
        for (uint32_t i = 0; i < old->n; i++, n++) {
            r[n].k = d + old->h[i].koff;
            r[n].kl = old->h[i].klen;
            r[n].v = d + old->h[i].voff;
            r[n].vl = old->h[i].vlen;
        }
    }
    size_t hint = 0;
    for (size_t i = 0; i < p->n; i++) {
        const st_kv *kv = &p->kv[i];
        long at = find_ref(r, n, kv->k, kv->kl, &hint);
        if (at >= 0) {
            if (kv->v) {
                r[at].v = kv->v;
                r[at].vl = kv->vl;
            } else {
                r[at].k = NULL; /* deleted */
            }
        } else if (kv->v && n < ST_MAX_HEADERS + ST_PATCH_MAX) {
            r[n].k = kv->k;
            r[n].kl = kv->kl;
            r[n].v = kv->v;
            r[n].vl = kv->vl;
            n++;
        }
    }
    /* Fit the bound: keep headers in order while they fit. */
    size_t budget = st->max_bytes, used = id_len + 1, kept = 0;
    bool cut = false;
    for (size_t i = 0; i < n; i++) {
        if (!r[i].k)
            continue;
        size_t cost = (size_t)r[i].kl + r[i].vl + 2;
        if (kept >= ST_MAX_HEADERS || used + cost > budget) {
            r[i].k = NULL;
            cut = true;
            continue;
        }
        used += cost;
        kept++;
    }
    if (cut)
        st->stats.truncated++;
    size_t total = sizeof(st_blob) + kept * sizeof(st_hdr) + used + ST_SLACK;
    st_blob *b = ami__malloc(total);
    if (!b)
        return NULL;
    b->n = (uint32_t)kept;
    b->id_len = (uint32_t)id_len;
    b->bytes = (uint32_t)total;
    b->used = (uint32_t)used;
    char *d = st_blob_data(b);
    memcpy(d, id, id_len);
    d[id_len] = '\0';
    size_t off = id_len + 1, j = 0;
    for (size_t i = 0; i < n; i++) {
        if (!r[i].k)
            continue;
        b->h[j].koff = (uint32_t)off;
        b->h[j].klen = r[i].kl;
        memcpy(d + off, r[i].k, r[i].kl);
        off += r[i].kl;
        d[off++] = '\0';
        b->h[j].voff = (uint32_t)off;
        b->h[j].vlen = r[i].vl;
        memcpy(d + off, r[i].v, r[i].vl);
        off += r[i].vl;
        d[off++] = '\0';
        j++;
    }
    return b;
}

/* -------------------------------------------------------- notification */

static void notify(ami_state *st, ami_state_kind kind, ami_state_change ch,
                   const ami_state_object *old, const ami_state_object *now)
{
    if (!st->cb)
        return;
    st->in_cb++;
    st->cb(st, kind, ch, old, now, st->cb_data);
    st->in_cb--;
}

static void touch(ami_state *st, ami_state_object *o)
{
    if (st->in_event)
        o->touched = st->seq;
}

/*
 * Change values in place when nobody needs the old view (no change
 * callback) and every change replaces an existing header's value: a value
 * that shrinks is rewritten where it is, one that grows goes to the blob's
 * slack. False when that is not possible (the caller rebuilds).
 */
static bool update_in_place(const ami_state *st, st_blob *b, const st_patch *p)
{
    int32_t at[ST_PATCH_MAX];
    uint64_t seen[(ST_MAX_HEADERS + 64) / 64] = {0};
    char *d = st_blob_data(b);
    size_t cap = b->bytes - sizeof(st_blob) - (size_t)b->n * sizeof(st_hdr);
    size_t need = b->used;
    uint32_t hint = 0, n = b->n;
    for (size_t i = 0; i < p->n; i++) {
        const st_kv *kv = &p->kv[i];
        at[i] = -1;
        uint32_t x = hint < n ? hint : 0;
        for (uint32_t j = 0; j < n; j++, x++) {
            if (x == n)
                x = 0;
            if (b->h[x].klen == kv->kl && st_eq(d + b->h[x].koff, kv->k, kv->kl)) {
                at[i] = (int32_t)x;
                hint = x + 1;
                break;
            }
        }
        if (at[i] < 0 ? kv->v != NULL : !kv->v)
            return false; /* adds or deletes a header */
        if (at[i] >= 0) {
            /* A key twice in one patch: the space accounting below assumes
             * one write per header, so rebuild instead. */
            uint64_t bit = 1ull << (at[i] & 63);
            if (seen[at[i] >> 6] & bit)
                return false;
            seen[at[i] >> 6] |= bit;
        }
        if (kv->vl > b->h[at[i]].vlen)
            need += (size_t)kv->vl + 1;
    }
    if (need > cap || need > st->max_bytes)
        return false;
    for (size_t i = 0; i < p->n; i++) {
        const st_kv *kv = &p->kv[i];
        if (at[i] < 0)
            continue;
        st_hdr *h = &b->h[at[i]];
        if (h->vlen == kv->vl && st_eq(d + h->voff, kv->v, kv->vl))
            continue;
        if (kv->vl > h->vlen) {
            h->voff = b->used;
            b->used += kv->vl + 1;
        }
        memmove(d + h->voff, kv->v, kv->vl);
        d[h->voff + kv->vl] = '\0';
        h->vlen = kv->vl;
    }
    return true;
}

int ami__st_update(ami_state *st, ami_state_object *o, const st_patch *p)
{
    touch(st, o);
    bool ident;
    if (!patch_changes(o->blob, p, &ident))
        return 0;
    if (!st->cb && update_in_place(st, o->blob, p)) {
        if (o->kind == AMI_STATE_CHANNEL && ident && ami__st_channel_reindex(st, o) < 0) {
            st->stats.nomem++;
            st->synced = 0;
            return AMI_ERR_NOMEM;
        }
        return 1;
    }
    st_blob *nb = build(st, o->blob, blob_id(o->blob), o->blob->id_len, p);
    if (!nb) {
        st->stats.nomem++;
        st->synced = 0;
        return AMI_ERR_NOMEM;
    }
    st_blob *old = o->blob;
    o->blob = nb;
    st->stats.bytes += nb->bytes;
    st->stats.bytes -= old->bytes;
    int rc = 1;
    if (o->kind == AMI_STATE_CHANNEL && ident && ami__st_channel_reindex(st, o) < 0) {
        st->stats.nomem++;
        st->synced = 0;
        rc = AMI_ERR_NOMEM;
    }
    ami_state_object before = *o;
    before.blob = old;
    notify(st, (ami_state_kind)o->kind, AMI_STATE_CHANGED, &before, o);
    ami__free(old);
    return rc;
}

int ami__st_upsert(ami_state *st, ami_state_kind kind, const char *id, size_t id_len,
                   const st_patch *p, bool create, ami_state_object **out)
{
    ami_state_object *o = ami__st_find(st, kind, id, id_len);
    *out = o;
    if (o)
        return ami__st_update(st, o, p);
    if (!create)
        return 0;
    /* An id with a NUL could never be looked up through the C-string API. */
    if (st->total >= st->max_objects || id_len + 1 > st->max_bytes || id_len == 0 ||
        memchr(id, '\0', id_len)) {
        st->stats.refused++;
        return 0;
    }
    grow_index(&st->idx, &st->idx_mask, st->total + 1, false);
    o = ami__calloc(1, sizeof(*o));
    st_blob *b = o && st->idx ? build(st, NULL, id, id_len, p) : NULL;
    if (!b) {
        ami__free(o);
        st->stats.nomem++;
        st->synced = 0;
        return AMI_ERR_NOMEM;
    }
    o->blob = b;
    o->kind = (uint8_t)kind;
    o->hash = ami__st_hash(id, id_len, (uint32_t)kind + 1);
    o->created = st->now;
    if (kind == AMI_STATE_CHANNEL && call_link(st, o) < 0) {
        ami__free(b);
        ami__free(o);
        st->stats.nomem++;
        st->synced = 0;
        return AMI_ERR_NOMEM;
    }
    o->hnext = st->idx[o->hash & st->idx_mask];
    st->idx[o->hash & st->idx_mask] = o;
    o->in_index = 1;
    o->prev = st->tail[kind];
    if (st->tail[kind])
        st->tail[kind]->next = o;
    else
        st->head[kind] = o;
    st->tail[kind] = o;
    st->count[kind]++;
    st->total++;
    st->stats.bytes += b->bytes + sizeof(*o);
    if (kind == AMI_STATE_CHANNEL)
        name_link(st, o);
    touch(st, o);
    *out = o;
    notify(st, kind, AMI_STATE_ADDED, NULL, o);
    return 1;
}

void ami__st_remove(ami_state *st, ami_state_object *o)
{
    ami_state_kind kind = (ami_state_kind)o->kind;
    if (kind == AMI_STATE_QUEUE) {
        while (o->first[0])
            ami__st_remove(st, o->first[0]);
        while (o->first[1])
            ami__st_remove(st, o->first[1]);
    } else if (kind == AMI_STATE_BRIDGE) {
        while (o->first[0]) {
            ami_state_object *ch = o->first[0];
            if (ami__st_channel_set_bridge(st, ch, NULL) < 0)
                ami__st_unlink_child(ch); /* keep the links right even without memory */
        }
    }
    ami__st_unlink_child(o);
    if (kind == AMI_STATE_CHANNEL) {
        call_unlink(st, o);
        name_unlink(st, o);
    }
    if (st->in_event && st->inflight)
        ami__st_record_tomb(st, kind, blob_id(o->blob), o->blob->id_len);
    ami_state_object **pp = &st->idx[o->hash & st->idx_mask];
    while (*pp != o)
        pp = &(*pp)->hnext;
    *pp = o->hnext;
    if (o->prev)
        o->prev->next = o->next;
    else
        st->head[kind] = o->next;
    if (o->next)
        o->next->prev = o->prev;
    else
        st->tail[kind] = o->prev;
    st->count[kind]--;
    st->total--;
    st->stats.bytes -= o->blob->bytes + sizeof(*o);
    notify(st, kind, AMI_STATE_REMOVED, o, NULL);
    ami__free(o->blob);
    ami__free(o);
}

int ami__st_channel_set_bridge(ami_state *st, ami_state_object *ch, ami_state_object *bridge)
{
    if (ch->parent != bridge) {
        ami__st_unlink_child(ch);
        if (bridge)
            ami__st_link_child(bridge, 0, ch, bridge->last[0]);
    }
    st_patch p;
    p.n = 0;
    if (bridge)
        ami__st_patch_adds(&p, "BridgeId", blob_id(bridge->blob), bridge->blob->id_len);
    else
        ami__st_patch_adds(&p, "BridgeId", NULL, 0);
    int rc = ami__st_update(st, ch, &p);
    /* The link follows the header: a BridgeId the byte bound (or memory)
     * left out means the channel is shown in no bridge. */
    if (bridge && !ami__st_value(ch, "BridgeId", NULL))
        ami__st_unlink_child(ch);
    return rc;
}

/* ---------------------------------------------------------- tombstones */

void ami__st_record_tomb(ami_state *st, ami_state_kind kind, const char *id, size_t len)
{
    if (st->tomb_count >= st->max_objects)
        return; /* bounded; the list's sweep still removes it if the list lacks it */
    if (!st->tombs || st->tomb_count > st->tombs_mask) {
        size_t n = st->tombs ? (st->tombs_mask + 1) * 2 : 64;
        st_tomb **nt = ami__calloc(n, sizeof(*nt));
        if (nt) {
            for (size_t i = 0; st->tombs && i <= st->tombs_mask; i++) {
                for (st_tomb *t = st->tombs[i], *next; t; t = next) {
                    next = t->next;
                    t->next = nt[t->hash & (n - 1)];
                    nt[t->hash & (n - 1)] = t;
                }
            }
            ami__free(st->tombs);
            st->tombs = nt;
            st->tombs_mask = n - 1;
        }
        if (!st->tombs)
            return;
    }
    st_tomb *t = ami__malloc(sizeof(*t) + len + 1);
    if (!t) {
        st->stats.nomem++;
        return;
    }
    t->seq = st->seq;
    t->kind = (uint8_t)kind;
    t->len = (uint32_t)len;
    t->hash = ami__st_hash(id, len, (uint32_t)kind + 1);
    memcpy(t->id, id, len);
    t->id[len] = '\0';
    t->next = st->tombs[t->hash & st->tombs_mask];
    st->tombs[t->hash & st->tombs_mask] = t;
    st->tomb_count++;
}

bool ami__st_is_tomb(const ami_state *st, ami_state_kind kind, const char *id, size_t len,
                     uint64_t after_seq)
{
    if (!st->tombs)
        return false;
    uint32_t h = ami__st_hash(id, len, (uint32_t)kind + 1);
    for (st_tomb *t = st->tombs[h & st->tombs_mask]; t; t = t->next) {
        if (t->hash == h && t->kind == kind && t->seq > after_seq && same(t->id, t->len, id, len))
            return true;
    }
    return false;
}

void ami__st_clear_tombs(ami_state *st)
{
    for (size_t i = 0; st->tombs && i <= st->tombs_mask; i++) {
        for (st_tomb *t = st->tombs[i], *next; t; t = next) {
            next = t->next;
            ami__free(t);
        }
    }
    ami__free(st->tombs);
    st->tombs = NULL;
    st->tombs_mask = 0;
    st->tomb_count = 0;
}

/* ------------------------------------------------------------ lifetime */

int ami_state_create(ami_state **out)
{
    if (!out)
        return AMI_ERR_INVALID;
    *out = NULL;
    ami_state *st = ami__calloc(1, sizeof(*st));
    if (!st)
        return AMI_ERR_NOMEM;
    st->max_objects = ST_DEFAULT_MAX_OBJECTS;
    st->max_bytes = ST_DEFAULT_MAX_BYTES;
    ami__st_resync_init(st); /* empty, and wanting a snapshot */
    *out = st;
    return AMI_OK;
}

void ami_state_free(ami_state *st)
{
    if (!st || st->in_cb)
        return;
    for (int k = 0; k < AMI_STATE_KIND_COUNT; k++) {
        for (ami_state_object *o = st->head[k], *next; o; o = next) {
            next = o->next;
            ami__free(o->blob);
            ami__free(o);
        }
    }
    for (st_call *c = st->call_head, *next; c; c = next) {
        next = c->next;
        ami__free(c);
    }
    for (size_t i = 0; i < st->binfo_count; i++)
        ami__free(st->binfo[i].id);
    ami__free(st->binfo);
    ami__st_clear_tombs(st);
    ami__free(st->idx);
    ami__free(st->names);
    ami__free(st->calls);
    ami__free(st);
}

void ami_state_set_change_cb(ami_state *st, ami_state_change_cb cb, void *user_data)
{
    if (!st)
        return;
    st->cb = cb;
    st->cb_data = user_data;
}

int ami_state_set_limits(ami_state *st, size_t max_objects, size_t max_object_bytes)
{
    if (!st || (max_object_bytes && max_object_bytes < 64) || max_object_bytes > (1u << 24))
        return AMI_ERR_INVALID;
    st->max_objects = max_objects ? max_objects : ST_DEFAULT_MAX_OBJECTS;
    st->max_bytes = max_object_bytes ? max_object_bytes : ST_DEFAULT_MAX_BYTES;
    return AMI_OK;
}

void ami_state_set_now(ami_state *st, uint64_t now_ms)
{
    if (st)
        st->now = now_ms;
}
