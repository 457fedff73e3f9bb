/*
 * Read side: object views, iteration (cursors hold the next node's
 * address, 1 at the end), lookups, calls and counters.
 */
#include "state_internal.h"

#include <string.h>

#define CURSOR_END ((size_t)1)

ami_state_kind ami_state_object_kind(const ami_state_object *o)
{
    return o ? (ami_state_kind)o->kind : AMI_STATE_KIND_COUNT;
}

const char *ami_state_object_id(const ami_state_object *o)
{
    return o ? st_blob_data(o->blob) : NULL;
}

static bool ascii_ieq(const char *a, size_t al, const char *b)
{
    size_t bl = strlen(b);
    if (al != bl)
        return false;
    for (size_t i = 0; i < al; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

const char *ami_state_object_get(const ami_state_object *o, const char *key)
{
    if (!o || !key)
        return NULL;
    const st_blob *b = o->blob;
    const char *d = st_blob_data(b);
    for (uint32_t i = 0; i < b->n; i++) {
        if (ascii_ieq(d + b->h[i].koff, b->h[i].klen, key))
            return d + b->h[i].voff;
    }
    return NULL;
}

size_t ami_state_object_header_count(const ami_state_object *o)
{
    return o ? o->blob->n : 0;
}

int ami_state_object_header(const ami_state_object *o, size_t i, const char **key,
                            const char **value)
{
    if (!o || i >= o->blob->n)
        return AMI_ERR_INVALID;
    const char *d = st_blob_data(o->blob);
    if (key)
        *key = d + o->blob->h[i].koff;
    if (value)
        *value = d + o->blob->h[i].voff;
    return AMI_OK;
}

uint64_t ami_state_object_created(const ami_state_object *o)
{
    return o ? o->created : 0;
}

uint64_t ami_state_object_answered(const ami_state_object *o)
{
    return o ? o->answered : 0;
}

int ami_state_channel_on_hold(const ami_state_object *o)
{
    if (!o || o->kind != AMI_STATE_CHANNEL)
        return 0;
    return ami__st_value(o, "MusicOnHold", NULL) || ami__st_value(o, "OnHold", NULL);
}

size_t ami_state_count(const ami_state *st, ami_state_kind kind)
{
    if (!st || (unsigned)kind >= AMI_STATE_KIND_COUNT)
        return 0;
    return st->count[kind];
}

/* The next queue (after q, or the first when q is NULL) with children in slot. */
static const ami_state_object *queue_with(const ami_state *st, const ami_state_object *q, int slot)
{
    q = q ? q->next : st->head[AMI_STATE_QUEUE];
    while (q && !q->first[slot])
        q = q->next;
    return q;
}

const ami_state_object *ami_state_next(const ami_state *st, ami_state_kind kind, size_t *cursor)
{
    if (!st || !cursor || (unsigned)kind >= AMI_STATE_KIND_COUNT || *cursor == CURSOR_END)
        return NULL;
    const ami_state_object *o;
    if (kind == AMI_STATE_MEMBER || kind == AMI_STATE_CALLER) {
        /* By queue, then the queue's own order. */
        int slot = kind == AMI_STATE_CALLER;
        if (*cursor) {
            o = (const ami_state_object *)*cursor;
        } else {
            const ami_state_object *q = queue_with(st, NULL, slot);
            o = q ? q->first[slot] : NULL;
        }
        if (!o) {
            *cursor = CURSOR_END;
            return NULL;
        }
        const ami_state_object *next = o->snext;
        if (!next) {
            const ami_state_object *q = queue_with(st, o->parent, slot);
            next = q ? q->first[slot] : NULL;
        }
        *cursor = next ? (size_t)next : CURSOR_END;
        return o;
    }
    o = *cursor ? (const ami_state_object *)*cursor : st->head[kind];
    if (!o) {
        *cursor = CURSOR_END;
        return NULL;
    }
    *cursor = o->next ? (size_t)o->next : CURSOR_END;
    return o;
}

const ami_state_object *ami_state_next_in(const ami_state *st, const ami_state_object *parent,
                                          ami_state_kind kind, size_t *cursor)
{
    if (!st || !parent || !cursor || *cursor == CURSOR_END)
        return NULL;
    int slot;
    if (parent->kind == AMI_STATE_BRIDGE && kind == AMI_STATE_CHANNEL)
        slot = 0;
    else if (parent->kind == AMI_STATE_QUEUE && kind == AMI_STATE_MEMBER)
        slot = 0;
    else if (parent->kind == AMI_STATE_QUEUE && kind == AMI_STATE_CALLER)
        slot = 1;
    else
        return NULL;
    const ami_state_object *o = *cursor ? (const ami_state_object *)*cursor : parent->first[slot];
    if (!o) {
        *cursor = CURSOR_END;
        return NULL;
    }
    *cursor = o->snext ? (size_t)o->snext : CURSOR_END;
    return o;
}

const ami_state_object *ami_state_find(const ami_state *st, ami_state_kind kind, const char *id)
{
    if (!st || !id || (unsigned)kind >= AMI_STATE_KIND_COUNT)
        return NULL;
    return ami__st_find(st, kind, id, strlen(id));
}

const ami_state_object *ami_state_find_channel_by_name(const ami_state *st, const char *channel)
{
    if (!st || !channel)
        return NULL;
    return ami__st_find_name(st, channel, strlen(channel));
}

size_t ami_state_call_count(const ami_state *st)
{
    return st ? st->call_count : 0;
}

const ami_state_object *ami_state_next_call(const ami_state *st, size_t *cursor)
{
    if (!st || !cursor || *cursor == CURSOR_END)
        return NULL;
    const st_call *c = *cursor ? (const st_call *)*cursor : st->call_head;
    if (!c) {
        *cursor = CURSOR_END;
        return NULL;
    }
    *cursor = c->next ? (size_t)c->next : CURSOR_END;
    return c->first;
}

const ami_state_object *ami_state_next_in_call(const ami_state *st, const char *linkedid,
                                               size_t *cursor)
{
    if (!st || !linkedid || !cursor || *cursor == CURSOR_END)
        return NULL;
    const ami_state_object *o;
    if (*cursor) {
        o = (const ami_state_object *)*cursor;
    } else {
        size_t len = strlen(linkedid);
        uint32_t h = ami__st_hash(linkedid, len, 7);
        const st_call *c = NULL;
        for (c = st->calls ? st->calls[h & st->calls_mask] : NULL; c; c = c->hnext) {
            if (c->hash == h && c->len == len && memcmp(c->linkedid, linkedid, len) == 0)
                break;
        }
        o = c ? c->first : NULL;
    }
    if (!o) {
        *cursor = CURSOR_END;
        return NULL;
    }
    *cursor = o->cnext ? (size_t)o->cnext : CURSOR_END;
    return o;
}

void ami_state_stats_get(const ami_state *st, ami_state_stats *out)
{
    if (!out)
        return;
    if (!st) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = st->stats;
    out->objects = st->total;
    out->tombstones = st->tomb_count;
}
