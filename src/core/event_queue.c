/*
 * The bounded queue of events waiting for ami_session_next_event(). It is
 * bounded twice, by count and by the packets' wire bytes, because either
 * alone lets a hostile or merely busy server exhaust memory (many tiny
 * events, or few huge ones). The session checks ami__event_queue_full()
 * before pulling a packet, so the queue overshoots by at most one packet.
 */
#include "event_queue.h"

void ami__event_queue_init(ami__event_queue *q)
{
    q->ring = NULL;
    q->cap = 0;
    q->head = 0;
    q->count = 0;
    q->bytes = 0;
    q->max_events = AMI__QUEUE_DEFAULT_EVENTS;
    q->max_bytes = AMI__QUEUE_DEFAULT_BYTES;
}

bool ami__event_queue_full(const ami__event_queue *q)
{
    return q->count >= q->max_events || q->bytes >= q->max_bytes;
}

static int grow(ami__event_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 64;
    ami_packet **ring = ami__malloc(cap * sizeof(*ring));
    if (!ring)
        return AMI_ERR_NOMEM;
    /* Unwrap so the oldest packet lands at index 0. */
    for (size_t i = 0; i < q->count; i++)
        ring[i] = q->ring[(q->head + i) & (q->cap - 1)];
    ami__free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return AMI_OK;
}

int ami__event_queue_push(ami__event_queue *q, const ami_packet *p)
{
    if (q->count == q->cap && grow(q) != AMI_OK)
        return AMI_ERR_NOMEM;
    ami_packet *copy;
    if (ami_packet_dup(p, &copy) != AMI_OK)
        return AMI_ERR_NOMEM;
    q->ring[(q->head + q->count) & (q->cap - 1)] = copy;
    q->count++;
    q->bytes += ami_packet_wire_size(copy);
    return AMI_OK;
}

int ami__event_queue_push_owned(ami__event_queue *q, ami_packet *p)
{
    if (q->count == q->cap && grow(q) != AMI_OK)
        return AMI_ERR_NOMEM;
    q->ring[(q->head + q->count) & (q->cap - 1)] = p;
    q->count++;
    q->bytes += ami_packet_wire_size(p);
    return AMI_OK;
}

int ami__event_queue_pop(ami__event_queue *q, ami_packet **out)
{
    if (q->count == 0)
        return 0;
    ami_packet *p = q->ring[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
    q->bytes -= ami_packet_wire_size(p);
    *out = p;
    return 1;
}

void ami__event_queue_free(ami__event_queue *q)
{
    ami_packet *p;
    while (ami__event_queue_pop(q, &p))
        ami_packet_free(p);
    ami__free(q->ring);
    q->ring = NULL;
    q->cap = 0;
    q->head = 0;
}
