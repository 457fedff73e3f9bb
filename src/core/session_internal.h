/*
 * Internal declarations shared by the session's files: action.c (wire
 * form), result.c (building results), pending.c (the ActionID table and
 * deadline heap) and event_queue.c (the bounded event queue). Never
 * installed.
 */
#ifndef AMI_SESSION_INTERNAL_H
#define AMI_SESSION_INTERNAL_H

#include "internal.h"

#include <stdarg.h>

/* ------------------------------------------------------------ action.c */

/* 0 when `s` may be sent as a header value (no CR, LF or NUL), else
 * AMI_ERR_INJECTION. */
int ami__check_value(const char *s, size_t len);

/* Bytes the action takes on the wire. `id` (may be NULL) is written as
 * the ActionID right after Action: and every ActionID header of the action
 * is skipped; with NULL the action's own headers go out unchanged.
 * Returns 0, AMI_ERR_INJECTION / AMI_ERR_TOO_LONG for a bad id, or
 * AMI_ERR_TOO_MANY when the added ActionID would exceed the line limit. */
int ami__action_wire_size(const ami_action *a, const char *id, size_t id_len, size_t *out);
/* Write exactly the bytes counted by ami__action_wire_size(). */
void ami__action_write(const ami_action *a, const char *id, size_t id_len, char *dst);

/* ------------------------------------------------------------ result.c */

typedef struct ami__output_line {
    const char *text;
    size_t len;
} ami__output_line;

struct ami_result {
    int status;
    uint8_t is_list;
    uint8_t nomem; /* a copy failed: the result reports AMI_ERR_NOMEM */
    uint8_t local; /* local_msg holds the message */
    const char *message;
    ami_packet *response;
    ami_packet **events;
    size_t event_count;
    size_t event_cap;
    ami__output_line *output;
    size_t output_count;
    const char *action_id;
    const char *name;
    char local_msg[256];
    char storage[]; /* action_id NUL name NUL */
};

/* One allocation holding the id and the action name; NULL on NOMEM. */
ami_result *ami__result_create(const char *id, size_t id_len, const char *name, size_t name_len);
/* Keep an owned copy of the response and take the status from it. */
void ami__result_set_response(ami_result *r, const ami_packet *response);
/* Append an owned copy of a list event. */
void ami__result_add_event(ami_result *r, const ami_packet *event);
/* A local outcome (timeout, disconnect, ...) with a formatted message. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void ami__result_fail(ami_result *r, int status, const char *fmt, ...);
/* Settle status, message and output lines before the result is handed out. */
void ami__result_finish(ami_result *r);

/* ----------------------------------------------------------- pending.c */

typedef enum ami__pending_state { AMI__AWAIT_RESPONSE = 0, AMI__IN_LIST } ami__pending_state;

typedef struct ami__pending ami__pending;
struct ami__pending {
    ami_result *result; /* its action_id is the table key */
    size_t id_len;
    uint64_t hash;
    uint64_t seq; /* send order */
    uint64_t deadline;
    size_t heap_idx;             /* SIZE_MAX when there is no deadline */
    ami__pending *prev, *next;   /* every pending action, in send order */
    ami__pending *fprev, *fnext; /* those still awaiting their response */
    ami_result_cb cb;
    void *user_data;
    uint8_t state;       /* ami__pending_state */
    uint8_t legacy_list; /* list opened by "... will follow", no EventList */
};

/*
 * Hash map from ActionID to entry (open addressing, linear probing,
 * backward-shift deletion) plus a binary min-heap of deadlines and two
 * intrusive lists; every operation is O(1) or O(log n).
 */
typedef struct ami__pending_table {
    ami__pending **slots;
    size_t slot_cap; /* power of two, or 0 */
    size_t count;
    ami__pending **heap;
    size_t heap_len;
    size_t heap_cap;
    ami__pending *head, *tail;
    ami__pending *fhead, *ftail;
    size_t in_list;
} ami__pending_table;

/* Make room so that one ami__pending_insert() cannot fail. */
int ami__pending_reserve(ami__pending_table *t, int with_deadline);
/* Insert (after a successful reserve). Sets hash, id_len, heap_idx. */
void ami__pending_insert(ami__pending_table *t, ami__pending *e);
ami__pending *ami__pending_find(const ami__pending_table *t, const char *id, size_t id_len);
/* Unlink from everything; the entry itself is not freed. */
void ami__pending_remove(ami__pending_table *t, ami__pending *e);
/* The response arrived and opened a list. */
void ami__pending_enter_list(ami__pending_table *t, ami__pending *e);
/* Oldest entry still awaiting its response, or NULL. */
ami__pending *ami__pending_oldest_awaiting(const ami__pending_table *t);
/* Entry with the earliest deadline, or NULL. */
ami__pending *ami__pending_earliest(const ami__pending_table *t);
/* Release the table's arrays (entries must have been removed). */
void ami__pending_table_free(ami__pending_table *t);

/* ------------------------------------------------------- event_queue.c */

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
/* 1 and the oldest packet (now owned by the caller), or 0 when empty. */
int ami__event_queue_pop(ami__event_queue *q, ami_packet **out);
void ami__event_queue_free(ami__event_queue *q);

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
