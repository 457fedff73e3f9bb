/*
 * The table of actions awaiting an answer. A busy connection has thousands
 * in flight and every received packet may need a lookup, so: an open
 * addressing hash map keyed by ActionID (c-ares keeps queries by id the same
 * way), a min-heap for deadlines, and intrusive lists for send order and for
 * matching responses that lack an ActionID. No operation scans the table.
 */
#include "pending.h"
#include "result.h"

#include <string.h>

static uint64_t hash_id(const char *id, size_t len)
{
    /* FNV-1a: IDs are short and mostly differ in their last digits. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)id[i];
        h *= 1099511628211ull;
    }
    return h;
}

static bool same_id(const ami__pending *e, const char *id, size_t len, uint64_t hash)
{
    return e->hash == hash && e->id_len == len && memcmp(e->result->action_id, id, len) == 0;
}

static void slot_place(ami__pending **slots, size_t cap, ami__pending *e)
{
    size_t i = (size_t)e->hash & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = e;
}

static int grow_slots(ami__pending_table *t, size_t need)
{
    /* Keep the load at most 1/2 so probe sequences stay short. */
    if (need * 2 <= t->slot_cap)
        return AMI_OK;
    size_t cap = t->slot_cap ? t->slot_cap * 2 : 64;
    while (need * 2 > cap)
        cap *= 2;
    ami__pending **slots = ami__calloc(cap, sizeof(*slots));
    if (!slots)
        return AMI_ERR_NOMEM;
    for (size_t i = 0; i < t->slot_cap; i++) {
        if (t->slots[i])
            slot_place(slots, cap, t->slots[i]);
    }
    ami__free(t->slots);
    t->slots = slots;
    t->slot_cap = cap;
    return AMI_OK;
}

int ami__pending_reserve(ami__pending_table *t, int with_deadline)
{
    int rc = grow_slots(t, t->count + 1);
    if (rc)
        return rc;
    if (with_deadline && t->heap_len == t->heap_cap) {
        size_t cap = t->heap_cap ? t->heap_cap * 2 : 64;
        ami__pending **heap = ami__realloc(t->heap, cap * sizeof(*heap));
        if (!heap)
            return AMI_ERR_NOMEM;
        t->heap = heap;
        t->heap_cap = cap;
    }
    return AMI_OK;
}

/* ---------------------------------------------------------------- heap */

static void heap_set(ami__pending_table *t, size_t i, ami__pending *e)
{
    t->heap[i] = e;
    e->heap_idx = i;
}

static bool heap_less(const ami__pending *a, const ami__pending *b)
{
    /* Ties go to the older action so expiry order is send order. */
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_up(ami__pending_table *t, size_t i)
{
    ami__pending *e = t->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(e, t->heap[parent]))
            break;
        heap_set(t, i, t->heap[parent]);
        i = parent;
    }
    heap_set(t, i, e);
}

static void heap_down(ami__pending_table *t, size_t i)
{
    ami__pending *e = t->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= t->heap_len)
            break;
        if (child + 1 < t->heap_len && heap_less(t->heap[child + 1], t->heap[child]))
            child++;
        if (!heap_less(t->heap[child], e))
            break;
        heap_set(t, i, t->heap[child]);
        i = child;
    }
    heap_set(t, i, e);
}

static void heap_remove(ami__pending_table *t, ami__pending *e)
{
    size_t i = e->heap_idx;
    e->heap_idx = SIZE_MAX;
    ami__pending *last = t->heap[--t->heap_len];
    if (i == t->heap_len)
        return;
    heap_set(t, i, last);
    if (i > 0 && heap_less(last, t->heap[(i - 1) / 2]))
        heap_up(t, i);
    else
        heap_down(t, i);
}

/* --------------------------------------------------------------- lists */

static void fifo_unlink(ami__pending_table *t, ami__pending *e)
{
    if (e->fprev)
        e->fprev->fnext = e->fnext;
    else if (t->fhead == e)
        t->fhead = e->fnext;
    else
        return; /* not linked */
    if (e->fnext)
        e->fnext->fprev = e->fprev;
    else
        t->ftail = e->fprev;
    e->fprev = e->fnext = NULL;
}

void ami__pending_insert(ami__pending_table *t, ami__pending *e)
{
    e->id_len = strlen(e->result->action_id);
    e->hash = hash_id(e->result->action_id, e->id_len);
    e->state = AMI__AWAIT_RESPONSE;
    slot_place(t->slots, t->slot_cap, e);
    t->count++;

    e->heap_idx = SIZE_MAX;
    if (e->deadline != AMI_NO_DEADLINE) {
        t->heap[t->heap_len] = e;
        e->heap_idx = t->heap_len++;
        heap_up(t, e->heap_idx);
    }

    e->next = NULL;
    e->prev = t->tail;
    if (t->tail)
        t->tail->next = e;
    else
        t->head = e;
    t->tail = e;

    e->fnext = NULL;
    e->fprev = t->ftail;
    if (t->ftail)
        t->ftail->fnext = e;
    else
        t->fhead = e;
    t->ftail = e;
}

ami__pending *ami__pending_find(const ami__pending_table *t, const char *id, size_t id_len)
{
    if (t->count == 0)
        return NULL;
    uint64_t h = hash_id(id, id_len);
    size_t mask = t->slot_cap - 1;
    for (size_t i = (size_t)h & mask; t->slots[i]; i = (i + 1) & mask) {
        if (same_id(t->slots[i], id, id_len, h))
            return t->slots[i];
    }
    return NULL;
}

static void slot_remove(ami__pending_table *t, ami__pending *e)
{
    size_t mask = t->slot_cap - 1;
    size_t i = (size_t)e->hash & mask;
    while (t->slots[i] != e)
        i = (i + 1) & mask;
    /* Backward-shift deletion: no tombstones, so lookups never slow down. */
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
        size_t home = (size_t)t->slots[j]->hash & mask;
        /* Move j into the hole unless its home lies cyclically in (hole, j]. */
        bool stays = (hole <= j) ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole] = NULL;
    t->count--;
}

void ami__pending_remove(ami__pending_table *t, ami__pending *e)
{
    slot_remove(t, e);
    if (e->heap_idx != SIZE_MAX)
        heap_remove(t, e);
    if (e->prev)
        e->prev->next = e->next;
    else
        t->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        t->tail = e->prev;
    e->prev = e->next = NULL;
    if (e->state == AMI__IN_LIST)
        t->in_list--;
    else
        fifo_unlink(t, e);
}

void ami__pending_enter_list(ami__pending_table *t, ami__pending *e)
{
    if (e->state == AMI__IN_LIST)
        return;
    fifo_unlink(t, e);
    e->state = AMI__IN_LIST;
    t->in_list++;
}

ami__pending *ami__pending_oldest_awaiting(const ami__pending_table *t)
{
    return t->fhead;
}

ami__pending *ami__pending_earliest(const ami__pending_table *t)
{
    return t->heap_len ? t->heap[0] : NULL;
}

void ami__pending_table_free(ami__pending_table *t)
{
    ami__free(t->slots);
    ami__free(t->heap);
    memset(t, 0, sizeof(*t));
}
