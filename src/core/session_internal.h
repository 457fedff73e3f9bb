/*
 * The session's internals offered to the clients above it: the event
 * filter of the event-loop client and a look-up of pending actions.
 * The session's own building blocks have one header each (action.h,
 * result.h, pending.h, event_queue.h), so none of them includes this one.
 * Never installed.
 */
#ifndef AMI_SESSION_INTERNAL_H
#define AMI_SESSION_INTERNAL_H

#include "internal.h"

/*
 * For the event-loop client: a filter offered each event before it would be
 * queued, while the queue is empty (so order is kept). Returning 1 means the
 * filter delivered it (borrowed, nothing copied); 0 queues it as usual, and
 * the queue's bound and ami_session_is_paused() work as without a filter.
 * Runs inside recv, with the same callback rules as ami_event_cb.
 */
typedef int (*ami__event_filter)(ami_session *s, const ami_packet *event, void *user_data);
void ami__session_set_event_filter(ami_session *s, ami__event_filter filter, void *user_data);

/* The user_data an action was sent with, or NULL when `action_id` is not
 * pending: lets a client tell its own internal actions from the
 * application's before cancelling one. */
void *ami__session_pending_data(const ami_session *s, const char *action_id);

#endif /* AMI_SESSION_INTERNAL_H */
