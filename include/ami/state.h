/*
 * libami live state: what exists on one Asterisk server *now* — channels,
 * calls (channels grouped by Linkedid), bridges, queues with their members
 * and waiting callers, parked calls and device states — kept in step with
 * the server from its events.
 *
 * Sans-I/O like the session (libc only): the store is fed packets and asks
 * for the list actions it needs; the helpers at the end wire it to the
 * blocking and the event-loop client.
 *
 * The informer pattern (list, then watch, relist after any gap):
 *   1. ami_state_resync_begin() — the store wants a fresh snapshot;
 *   2. while ami_state_next_action() gives an action, send it and hand its
 *      result to ami_state_feed_result() (follow-ups such as one BridgeInfo
 *      per listed bridge appear only once BridgeList's result is in);
 *   3. every event goes to ami_state_feed_event(), before, during and after
 *      the lists, in the order received;
 *   4. as each result comes in, the store reconciles the kinds that list
 *      covers: objects it no longer shows are reported removed, changed
 *      ones changed, new ones added; the store is synced once every list
 *      is in. An event that arrived while a list was in flight wins over
 *      the list's older view (a channel hung up mid-list never comes back).
 * After a gap (the async client's `Event: AmiGap`, a reconnect, or any
 * reason of the application's) call ami_state_resync_begin() again.
 *
 * Objects are the AMI headers the server sent, normalised where Asterisk
 * names one thing twice (QueueStatus's QueueMember `Location`/`Name` become
 * `Interface`/`MemberName`, as in every queue event). docs/state.md lists
 * each kind's headers and the JSON shape of ami_state_to_json().
 *
 * Ownership: views (const ami_state_object *) are borrowed, valid until the
 * next call that feeds or changes the store; copy what you keep. Strings
 * returned by getters live as long as the view. ami_state_to_json() output
 * is the caller's (free()).
 *
 * Calls allowed inside the change callback: every getter and iterator;
 * feeding, resync and free return AMI_ERR_STATE (or do nothing).
 * One handle, one thread at a time; no global state.
 */
#ifndef AMI_STATE_H
#define AMI_STATE_H

#include <ami/ami.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ami_state ami_state;
typedef struct ami_state_object ami_state_object;

typedef enum ami_state_kind {
    AMI_STATE_CHANNEL = 0, /* id: Uniqueid */
    AMI_STATE_BRIDGE,      /* id: BridgeUniqueid */
    AMI_STATE_QUEUE,       /* id: Queue (its QueueParams) */
    AMI_STATE_MEMBER,      /* id: "Queue/Interface" */
    AMI_STATE_CALLER,      /* id: "Queue/Uniqueid" (a caller waiting) */
    AMI_STATE_PARKED,      /* id: "Parkinglot/ParkingSpace" */
    AMI_STATE_DEVICE,      /* id: Device */
    AMI_STATE_KIND_COUNT
} ami_state_kind;

typedef enum ami_state_change {
    AMI_STATE_ADDED = 0,
    AMI_STATE_CHANGED,
    AMI_STATE_REMOVED
} ami_state_change;

/*
 * One callback for every change. `old` is the view before the change (NULL
 * for ADDED), `now` the view after it (NULL for REMOVED); both borrowed for
 * the duration of the call.
 */
typedef void (*ami_state_change_cb)(ami_state *st, ami_state_kind kind, ami_state_change change,
                                    const ami_state_object *old, const ami_state_object *now,
                                    void *user_data);

/* Errors: AMI_ERR_INVALID (out NULL), AMI_ERR_NOMEM. */
AMI_EXPORT int ami_state_create(ami_state **out);
/* Frees every object; no callback runs. Accepts NULL. */
AMI_EXPORT void ami_state_free(ami_state *st);

AMI_EXPORT void ami_state_set_change_cb(ami_state *st, ami_state_change_cb cb, void *user_data);

/*
 * Bounds (0 keeps the default): objects of all kinds together (default
 * 1,000,000) and bytes of one object's headers (default 8192). An object
 * over its byte bound keeps the headers that fit (counted in
 * `truncated`); a new object past the count bound is not stored (counted
 * in `refused`). Errors: AMI_ERR_INVALID (NULL, or max_object_bytes
 * outside 64 .. 16 MiB).
 */
AMI_EXPORT int ami_state_set_limits(ami_state *st, size_t max_objects, size_t max_object_bytes);

/* --------------------------------------------------------------- feeding */

/*
 * Apply one event (any packet; non-events and unknown events are ignored).
 * Returns 1 when the store changed, 0 when not, or AMI_ERR_STATE inside a
 * callback, AMI_ERR_NOMEM (the store is then marked stale: resync).
 * A packet that contradicts the store (a Hangup for an unknown channel) is
 * counted in `contradictions`, never fatal.
 */
AMI_EXPORT int ami_state_feed_event(ami_state *st, const ami_packet *event);

/* Start a fresh snapshot (also right after create: the store starts empty
 * and wanting one). Lists already in flight are abandoned; their late
 * results are ignored. Errors: AMI_ERR_STATE (inside a callback). */
AMI_EXPORT int ami_state_resync_begin(ami_state *st);

/*
 * The next list action to send, or 0 with *out NULL when none is needed
 * now (either every list is in, or follow-ups wait for a result). The
 * action is the caller's (ami_action_free); `*token` identifies it for
 * ami_state_feed_result(). Returns 1 with an action, 0 without, or
 * AMI_ERR_NOMEM.
 */
AMI_EXPORT int ami_state_next_action(ami_state *st, ami_action **out, unsigned *token);

/*
 * The result of the action `token` named. A failed result (timeout,
 * disconnect) leaves the resync incomplete: ami_state_is_synced() stays 0
 * until the next ami_state_resync_begin(). Some servers answer a list with
 * Response: Error when it is empty or the module is missing (ParkedCalls
 * without res_parking): that counts as an empty list. Returns 0, or
 * AMI_ERR_INVALID (unknown or stale token: ignored), AMI_ERR_STATE,
 * AMI_ERR_NOMEM.
 */
AMI_EXPORT int ami_state_feed_result(ami_state *st, unsigned token, const ami_result *result);

/* 1 when every list of the last resync is in and reconciled. */
AMI_EXPORT int ami_state_is_synced(const ami_state *st);
/* How many resyncs completed (0 before the first snapshot). */
AMI_EXPORT uint64_t ami_state_generation(const ami_state *st);

/* ---------------------------------------------------------------- views */

AMI_EXPORT ami_state_kind ami_state_object_kind(const ami_state_object *o);
/* The object's id (see ami_state_kind). */
AMI_EXPORT const char *ami_state_object_id(const ami_state_object *o);
/* First value of a header (case-insensitive key), NULL when absent. */
AMI_EXPORT const char *ami_state_object_get(const ami_state_object *o, const char *key);
/* Ordered headers. */
AMI_EXPORT size_t ami_state_object_header_count(const ami_state_object *o);
AMI_EXPORT int ami_state_object_header(const ami_state_object *o, size_t i, const char **key,
                                       const char **value);
/* Monotonic milliseconds (the caller's clock given to ami_state_set_now,
 * 0 when never set) when the object was first seen, and for channels when
 * it was answered (0: not answered; 1 when answered but the clock was
 * never set). */
AMI_EXPORT uint64_t ami_state_object_created(const ami_state_object *o);
AMI_EXPORT uint64_t ami_state_object_answered(const ami_state_object *o);

/* The clock used for created/answered/joined times (ms). */
AMI_EXPORT void ami_state_set_now(ami_state *st, uint64_t now_ms);

/* ---------------------------------------------------------- lookups */

AMI_EXPORT size_t ami_state_count(const ami_state *st, ami_state_kind kind);
/* Iterate: `*cursor` starts at 0; returns the next object or NULL at the end.
 * Order is insertion order for channels, bridges, queues, parked, devices;
 * members by queue then insertion; callers by queue then Position. */
AMI_EXPORT const ami_state_object *ami_state_next(const ami_state *st, ami_state_kind kind,
                                                  size_t *cursor);
AMI_EXPORT const ami_state_object *ami_state_find(const ami_state *st, ami_state_kind kind,
                                                  const char *id);
AMI_EXPORT const ami_state_object *ami_state_find_channel_by_name(const ami_state *st,
                                                                  const char *channel);

/*
 * Children of one object, in order: a bridge's channels (kind
 * AMI_STATE_CHANNEL, in the order they entered), a queue's members
 * (AMI_STATE_MEMBER, insertion order) or callers (AMI_STATE_CALLER, by
 * Position). `*cursor` starts at 0; NULL at the end, or when `parent`
 * has no children of that kind.
 */
AMI_EXPORT const ami_state_object *ami_state_next_in(const ami_state *st,
                                                     const ami_state_object *parent,
                                                     ami_state_kind kind, size_t *cursor);

/*
 * Calls: channels grouped by Linkedid. ami_state_next_call() gives one
 * channel per call (the first of its group to appear), in the order the
 * calls appeared; ami_state_next_in_call() every channel with that
 * Linkedid, in insertion order. Cursors start at 0; NULL at the end.
 */
AMI_EXPORT size_t ami_state_call_count(const ami_state *st);
AMI_EXPORT const ami_state_object *ami_state_next_call(const ami_state *st, size_t *cursor);
AMI_EXPORT const ami_state_object *ami_state_next_in_call(const ami_state *st, const char *linkedid,
                                                          size_t *cursor);

/* Channel flags, from the channel's headers (0 for other kinds): 1 while
 * music on hold plays (MusicOnHoldStart until MusicOnHoldStop) or the
 * channel is held (Hold until Unhold). */
AMI_EXPORT int ami_state_channel_on_hold(const ami_state_object *o);

/* ------------------------------------------------------------- counters */

typedef struct ami_state_stats {
    uint64_t events;         /* events fed */
    uint64_t applied;        /* events that changed the store */
    uint64_t contradictions; /* events that contradicted it */
    uint64_t refused;        /* objects not stored: count bound */
    uint64_t truncated;      /* objects cut: byte bound */
    uint64_t resyncs;        /* completed resyncs */
    size_t objects;          /* objects now */
    size_t bytes;            /* bytes held by objects now */
    uint64_t list_items;     /* list items taken from results */
    uint64_t stale_results;  /* results ignored: unknown token, abandoned list */
    uint64_t nomem;          /* allocation failures (the store is then stale) */
    size_t tombstones;       /* removals remembered while lists are in flight */
} ami_state_stats;

AMI_EXPORT void ami_state_stats_get(const ami_state *st, ami_state_stats *out);

/* ----------------------------------------------------------------- JSON */

/*
 * The whole store as one JSON object:
 *   {"channels":[…],"bridges":[…],"queues":[…],"parked":[…]}
 * (and "devices":[…]); members carry the AMI header names; see
 * docs/state.md. `*out` is NUL-terminated and the caller's (free()).
 * Errors: AMI_ERR_INVALID, AMI_ERR_NOMEM.
 */
AMI_EXPORT int ami_state_to_json(const ami_state *st, char **out, size_t *len);
/* One object as JSON, same form as in ami_state_to_json(). */
AMI_EXPORT int ami_state_object_to_json(const ami_state_object *o, char **out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* AMI_STATE_H */
