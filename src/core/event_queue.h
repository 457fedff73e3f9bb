/*
 * The bounded FIFO of owned packets (event_queue.c): the session's queue of
 * undelivered events, and the event-loop client's events carried over from
 * ended connections. Never installed.
 */
#ifndef AMI_EVENT_QUEUE_H
#define AMI_EVENT_QUEUE_H

#include "internal.h"

/* FIFO ring of owned packet copies, bounded by count and wire bytes. */
typedef struct ami__event_queue {
    ami_packet **ring;
    size_t cap; /* power of two, or 0 */
    size_t head;
    size_t count;
    size_t bytes;
    size_t max_events;
    size_t max_bytes;
} ami__event_queue;

#define AMI__QUEUE_DEFAULT_EVENTS 65536u
#define AMI__QUEUE_DEFAULT_BYTES  (64u << 20)

void ami__event_queue_init(ami__event_queue *q);
bool ami__event_queue_full(const ami__event_queue *q);
/* Copy and append; AMI_ERR_NOMEM leaves the queue unchanged. */
int ami__event_queue_push(ami__event_queue *q, const ami_packet *p);
/* Append a packet the caller owns (e.g. from ami_packet_dup); the queue
 * owns it on success, the caller still does on AMI_ERR_NOMEM. Like push,
 * this does not check the bounds: callers ask ami__event_queue_full(). */
int ami__event_queue_push_owned(ami__event_queue *q, ami_packet *p);
/* 1 and the oldest packet (now owned by the caller), or 0 when empty. */
int ami__event_queue_pop(ami__event_queue *q, ami_packet **out);
void ami__event_queue_free(ami__event_queue *q);

#endif /* AMI_EVENT_QUEUE_H */
