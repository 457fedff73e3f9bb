/* Inside amid's NATS support: the state bucket (nats_kv.c) and its keys
 * (nats_kv_keys.c), and the hooks nats.c calls around its connection. */
#ifndef AMID_NATS_KV_H
#define AMID_NATS_KV_H

#include "app.h"

#include <nats/nats.h>

/* A key, with "$KV.<bucket>." before it, must fit the publish line within
 * nats-server's max_control_line (4 KiB by default). */
#define AMID_KV_KEY_MAX 3000

/* nats_kv_keys.c: the object's key (0), or -1 when it has none (an id
 * too long for a key, or a two-part id without its '/'). */
int amid_kv_object_key(const char *server, ami_state_kind kind, const ami_state_object *o,
                       char *key, size_t cap);
/* The kind a key of `server` names, with the object's id in id; -1 when
 * it is none of the forms amid writes. */
int amid_kv_key_object(const char *server, const char *key, char *id, size_t cap);

/* nats.c, for nats_kv.c: connected, the stream checked, not stopping. */
int amid_nats_usable(void);
/* A job of nats_kv.c on the pool finished: nats.c may close now. */
void amid_nats_job_done(void);
/* A JetStream context on nc for asynchronous publishes of server i, acks
 * to ack_cb (closure: i), libnats's pending bound far above amid's
 * max_inflight window so that js_PublishMsgAsync never stalls the loop.
 * On the pool. */
natsStatus amid_nats_async_context(jsCtx **out, natsConnection *nc, jsPubAckHandler ack_cb,
                                   size_t i);
/* Frees the publishes js still waits acknowledgements for (they are ours
 * once taken back). `used`: an async publish on js succeeded; without
 * one libnats 3.4.1 would crash here, so nothing is done. */
void amid_nats_drop_pending(jsCtx *js, int used);

/* nats_kv.c, for nats.c. The connect and release hooks run where nats.c
 * makes and destroys its connection (on the pool, or on the loop once
 * libnats is closed); the others on the loop. */
int amid_nats_kv_start(void);
natsStatus amid_nats_kv_connect(natsConnection *nc, char *err, size_t cap);
void amid_nats_kv_release(void);
void amid_nats_kv_ready(void);
void amid_nats_kv_lost(void);
int amid_nats_kv_busy(void); /* a job of ours is on the pool */
int amid_nats_kv_idle(void); /* nothing waits to be written or acknowledged */
void amid_nats_kv_stop(void);
void amid_nats_kv_close_handles(void);    /* after nats_CloseAndWait */
void amid_nats_kv_free(int threads_left); /* threads_left: libnats threads may still call back */

#endif
