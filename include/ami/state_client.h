/*
 * libami live state wired to the clients: a store (<ami/state.h>) kept in
 * step over a blocking client (<ami/client.h>) or an event-loop client
 * (<ami/async.h>). The store itself stays sans-I/O; these helpers only send
 * the list actions it asks for and hand it what comes back.
 */
#ifndef AMI_STATE_CLIENT_H
#define AMI_STATE_CLIENT_H

#include <ami/async.h>
#include <ami/client.h>
#include <ami/state.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- blocking */

/*
 * Called by ami_state_bootstrap() with each event it took from the
 * client's queue (after feeding it to the store), so the application loses
 * none. `event` is borrowed for the call.
 */
typedef void (*ami_state_event_fn)(const ami_packet *event, void *user_data);

/*
 * Bootstrap `st` over a connected, logged-in blocking client: start a
 * resync, send every list action the store asks for with ami_client_call()
 * (each bounded by `timeout_ms`) and feed its result, until the store is
 * synced.
 *
 * Events that arrive meanwhile:
 *   - if the client has an event callback (ami_client_set_event_cb), it
 *     runs inside ami_client_call() as usual, and it must feed the store
 *     itself (ami_state_feed_event) — this call never sees those events;
 *   - otherwise they wait in the client's queue: before and after each
 *     list this call takes every queued event, feeds it to the store and
 *     hands it to `on_event` (may be NULL: then they are only fed).
 * Either way the store sees every event once, in the order received.
 *
 * Returns 0 when synced; AMI_ERR_INVALID (NULL st or c), AMI_ERR_STATE
 * (inside the store's change callback), AMI_ERR_NOMEM, or the error of the
 * list action that failed (AMI_ERR_TIMEOUT, AMI_ERR_DISCONNECTED, ...;
 * the store keeps what it had and is not synced: call again).
 */
AMI_EXPORT int ami_state_bootstrap(ami_state *st, ami_client *c, int timeout_ms,
                                   ami_state_event_fn on_event, void *user_data);

/* ------------------------------------------------------------ event loop */

/*
 * A link keeps a store in step over an ami_async handle, without taking
 * over the handle's callbacks (the application, amid for one, needs its
 * events too). The contract:
 *
 *   - the application keeps its own event and state callbacks on the
 *     handle, and calls ami_state_async_on_event() with EVERY event its
 *     event callback receives (gap notices included) and
 *     ami_state_async_on_state() with every state change its state
 *     callback receives, from inside those callbacks or later but in the
 *     same order;
 *   - the link feeds events to the store, and sends the list actions
 *     itself (ami_async_send, with its own result callbacks);
 *   - it resyncs on the first AMI_ASYNC_UP it is told of (a link created
 *     while the handle is already UP: call ami_state_async_resync()), and
 *     after a reconnect on the
 *     `Event: AmiGap` notice, which the handle delivers after every event
 *     of the lost connection, so no stale event is fed mid-list. An
 *     explicit ami_state_async_resync() resyncs now (when UP);
 *   - lists pending when the connection drops fail; the store stays
 *     unsynced until the next gap's resync completes.
 * Free the link before the handle, or after it (the handle's pending
 * list callbacks then see a freed link only through a guard the link
 * keeps: do not free the link from inside one of its own callbacks).
 */
typedef struct ami_state_link ami_state_link;

/*
 * Called when a resync the link ran completed (synced 1) or failed
 * (synced 0, `error` the failing action's status).
 */
typedef void (*ami_state_synced_fn)(ami_state_link *l, int synced, int error, void *user_data);

/* Errors: AMI_ERR_INVALID (NULL argument), AMI_ERR_NOMEM. The link
 * borrows `st` and `a`: both must outlive it. `timeout_ms` bounds each list
 * action (-1: none). */
AMI_EXPORT int ami_state_link_create(ami_state_link **out, ami_state *st, ami_async *a,
                                     int timeout_ms);
/* Stops following; list actions still pending are ignored when they
 * complete. Accepts NULL. */
AMI_EXPORT void ami_state_link_free(ami_state_link *l);
AMI_EXPORT void ami_state_link_set_synced_cb(ami_state_link *l, ami_state_synced_fn cb,
                                             void *user_data);

/* Feed one event (from the application's event callback). Returns what
 * ami_state_feed_event() returns; a gap notice starts a resync (0). */
AMI_EXPORT int ami_state_async_on_event(ami_state_link *l, const ami_packet *event);
/* Report a state change (from the application's state callback). */
AMI_EXPORT void ami_state_async_on_state(ami_state_link *l, ami_async_state state);
/* Resync now. Errors: AMI_ERR_STATE (handle not UP, or inside the store's
 * change callback), AMI_ERR_NOMEM, or ami_async_send's error. */
AMI_EXPORT int ami_state_async_resync(ami_state_link *l);

#ifdef __cplusplus
}
#endif

#endif /* AMI_STATE_CLIENT_H */
