/* amid's runtime: servers, the event hub, WebSocket clients, pending
 * requests and the HTTP front, all on one libuv loop. */
#ifndef AMID_APP_H
#define AMID_APP_H

#include "amid.h"

#include <ami/state.h>
#include <ami/state_client.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <uv.h>

typedef struct amid_server amid_server;
typedef struct amid_client amid_client;

/* One event (or in-stream notice), encoded to JSON once and shared by
 * every subscriber and the ring: refcounted. The bytes sit after LWS_PRE
 * bytes of head room, which lws_write() uses for the frame header; that
 * room is rewritten per send, which is safe on one thread. */
typedef struct amid_msg {
    unsigned refs;
    uint32_t classes;    /* event classes from Privilege: (AMID_CLASS_*) */
    uint64_t seq;        /* 0 for per-client messages */
    size_t server;       /* index of its server */
    size_t len;          /* JSON bytes */
    size_t name_off;     /* 0, or the event's subject token at buf[name_off] */
    size_t msgid_off;    /* 0, or the event's own NATS message id at buf[msgid_off] */
    unsigned char buf[]; /* LWS_PRE + len + 1 */
} amid_msg;

amid_msg *amid_msg_new(const char *json, size_t len);
amid_msg *amid_msg_ref(amid_msg *m);
void amid_msg_unref(amid_msg *m);
static inline unsigned char *amid_msg_data(amid_msg *m)
{
    return m->buf + LWS_PRE;
}
/* Appends the event name, escaped to one NATS subject token, and the
 * event's own message id (msgid.c; NULL: none) after the JSON (refs must
 * be 1: it may move). Returns the message, or NULL when out of memory (m
 * freed). */
amid_msg *amid_msg_set_nats(amid_msg *m, const char *name, const char *msgid);
static inline const char *amid_msg_subject_token(const amid_msg *m)
{
    return m->name_off ? (const char *)m->buf + m->name_off : NULL;
}
static inline const char *amid_msg_nats_id(const amid_msg *m)
{
    return m->msgid_off ? (const char *)m->buf + m->msgid_off : NULL;
}

/* msgid.c: the id "<server>:ts:<Timestamp>:<hash>" of an event with a
 * valid Timestamp header (hash: the first AMID_MSGID_HASH_BYTES of the
 * SHA-256 of its AMI headers, in hex). 0, or -1 when the event has none
 * (or it is malformed): the caller keeps the per-instance id. */
#define AMID_MSGID_HASH_BYTES 16
#define AMID_MSGID_MAX        160 /* a 64-byte server name, 30 of Timestamp */
int amid_event_msgid(const char *server, const ami_packet *p, char *out, size_t cap);

#define AMID_CLASS_ALL 0xffffffffu
uint32_t amid_classes_of(const char *privilege);
uint32_t amid_token_event_mask(const amid_token *t);

struct amid_server {
    amid_server_conf *conf;
    size_t index;
    ami_async *a;
    ami_async_state state;
    time_t connected_since;
    char version[32];
    /* hub */
    uint64_t seq; /* last sequence number given */
    amid_msg **ring;
    size_t ring_cap, ring_head, ring_count, ring_bytes;
    /* subscribers */
    struct amid_sub *subs;
    /* live state (state.c) */
    ami_state *st;
    ami_state_link *link;
    int state_synced;
    amid_client *state_clients;
    /* metrics */
    uint64_t events_total, reconnects, pbx_gaps, unmatched, logins;
    size_t pending;
};

/* A client's subscription to one server. */
typedef struct amid_sub {
    amid_client *client;
    amid_server *srv;
    struct amid_sub *next_in_server, *prev_in_server;
    uint64_t gap_from, gap_to; /* pending gap (from == 0: none) */
    uint64_t cursor;           /* replaying: next seq to read from the ring; 0: live */
    const char *gap_reason;
} amid_sub;

#define AMID_MAX_FILTERS    8
#define AMID_MAX_CONTROL    256
#define AMID_MAX_WS_PENDING 32

struct amid_client {
    struct lws *wsi;
    uint64_t id;
    unsigned char token_hash[32];
    amid_token *token; /* re-resolved on reload; NULL: revoked */
    uint32_t event_mask;
    amid_sub *subs;
    size_t n_subs;
    char *filter_key[AMID_MAX_FILTERS], *filter_val[AMID_MAX_FILTERS];
    size_t n_filters;
    /* event queue: ring of shared messages, bounded by bytes */
    amid_msg **q;
    size_t q_cap, q_head, q_count, q_bytes;
    /* control queue: replies and notices, never dropped, bounded in count */
    amid_msg **ctl;
    size_t ctl_head, ctl_count;
    uint64_t behind_since_ms; /* first drop not yet caught up; 0: in time */
    uint64_t drops, dropped_events, sent;
    size_t ws_pending;
    int closing;
    int close_sent;
    /* a /v1/state client: its server, and a snapshot owed */
    amid_server *state_srv;
    amid_client *state_next, *state_prev;
    int need_snapshot;
    char close_reason[96];
    /* receive buffer for actions sent over the socket */
    char *rx;
    size_t rx_len;
    amid_client *next, *prev;
};

/* A REST or WebSocket action waiting for the PBX. */
typedef struct amid_req {
    struct lws *wsi;     /* REST: the connection (NULL once it closed) */
    amid_client *client; /* WS: the client (NULL once it closed) */
    json_t *ws_id;       /* WS: the caller's id */
    amid_server *srv;
    int is_command;
    char *nats_reply; /* NATS: the requester's reply subject (owned) */
    struct amid_req *next, *prev;
} amid_req;

typedef struct amid_session {
    unsigned char id_hash[32];
    unsigned char token_hash[32];
    time_t expires;
    struct amid_session *next;
} amid_session;

typedef struct amid_app {
    uv_loop_t *loop;
    amid_config cfg;
    amid_server *servers;
    size_t n_servers;
    char epoch[24];
    struct lws_context *lws;
    int listen_port;
    amid_client *clients;
    size_t n_clients;
    uint64_t next_client_id;
    amid_req *reqs;
    size_t n_reqs;
    amid_session *sessions;
    size_t n_sessions;
    int draining;
    uint64_t drain_deadline;
    uv_signal_t sig_hup, sig_term, sig_int;
    uv_timer_t tick;
    /* metrics */
    uint64_t http_by_status[600];
    uint64_t ws_drops, ws_slow_closed, ws_connects, reloads, reload_failures;
} amid_app;

extern amid_app *amid;

/* jsonenc.c: an event's WebSocket message, encoded straight into a new
 * message (refs 1), or NULL when out of memory. */
amid_msg *amid_encode_event(const char *server, uint64_t seq, const char *epoch,
                            const ami_packet *p);

/* hub.c */
int amid_hub_init(amid_server *s, size_t ring_events);
void amid_hub_free(amid_server *s);
void amid_hub_publish(amid_server *s, const ami_packet *p);
void amid_hub_publish_pbx_gap(amid_server *s, const ami_packet *p);
/* {"type":"gap","server","epoch"[,"from","to"],"reason"[,"lost_epoch"]}: the
 * one form of every gap message (WebSocket, state stream, NATS); from 0
 * leaves the range out. A new message (refs 1), or NULL out of memory. */
amid_msg *amid_gap_msg(amid_server *s, uint64_t from, uint64_t to, const char *reason,
                       const char *lost_epoch);
/* Subscribes c to s from `since` (has_since 0: live only). */
int amid_hub_subscribe(amid_client *c, amid_server *s, int has_since, const char *since_epoch,
                       uint64_t since_seq);
void amid_hub_unsubscribe(amid_sub *sub);
void amid_client_push(amid_client *c, amid_msg *m, amid_sub *sub);
int amid_client_push_ctl(amid_client *c, amid_msg *m);
int amid_client_write(amid_client *c); /* from LWS_CALLBACK_SERVER_WRITEABLE */
void amid_client_free_queues(amid_client *c);
int amid_client_filter_match_packet(const amid_client *c, const ami_packet *p);

/* state.c: the live state of each server (ami/state.h) and /v1/state */
int amid_state_start(amid_server *s);
void amid_state_stop(amid_server *s);
void amid_state_on_event(amid_server *s, const ami_packet *p);
void amid_state_on_state(amid_server *s, ami_async_state st);
void amid_state_attach(amid_client *c, amid_server *s);
void amid_state_detach(amid_client *c);
amid_msg *amid_state_snapshot_msg(amid_server *s);
/* hub.c: append to a client's byte-bounded queue; -1 when it would not
 * fit (nothing queued) */
int amid_client_queue_append(amid_client *c, amid_msg *m);
void amid_client_drop_all(amid_client *c);

/* upstream.c */
int amid_upstream_start(amid_server *s);
void amid_upstream_stop(amid_server *s);
const char *amid_server_state_name(const amid_server *s);
int amid_upstream_send(amid_server *s, const ami_action *a, amid_req *req);
amid_server *amid_server_find(const char *name);
void amid_req_unlink(amid_req *r);

/* http.c */
int amid_http_start(void);
void amid_http_stop(void);
/* Refuses a WebSocket upgrade with an HTTP status and JSON error, at once;
 * returns what LWS_CALLBACK_HTTP_CONFIRM_UPGRADE must return. */
int amid_http_reject_now(struct lws *wsi, int status, const char *why);
/* The REST/WS/NATS reply for a finished action (frees r; takes body). */
void amid_req_done(amid_req *r, int status, json_t *body);
/* A pending request linked into amid->reqs, or NULL (out of memory). */
amid_req *amid_req_new(void);
/* {"error": why, "status": N[, "rule": ...]}: the REST error body. */
json_t *amid_error_body(int status, const char *why);

/* ws.c */
int amid_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
void amid_ws_check_slow(uint64_t now_ms);
void amid_ws_reresolve_tokens(void);
void amid_ws_close_all(const char *why);
/* Authentication shared by REST and WS: 0 and *tok, or 401/403 with why. */
int amid_auth(struct lws *wsi, amid_token **tok, char *why, size_t whycap);
int amid_origin_ok(struct lws *wsi, int *has_origin);
/* Runs a JSON action for a token on a server: 0 when sent (the answer comes
 * through amid_req_done), else the HTTP status with why. */
int amid_run_action(amid_token *t, amid_server *s, const json_t *action, amid_req *req, char *why,
                    size_t whycap);

int amid_state_allowed(const amid_token *t, const amid_server *s, char *why, size_t whycap);

/* nats.c (with libnats; no-ops without) */
typedef struct amid_nats_stats {
    int ready;
    uint64_t connection_losses; /* all servers: connections to NATS that closed */
    uint64_t published, acked_seq, inflight, errors, resets, ring_gaps, requests;
} amid_nats_stats;
#ifdef AMID_WITH_NATS
/* 0 and *out for server i, or -1 when NATS is not configured. */
int amid_nats_stats_get(size_t i, amid_nats_stats *out);
int amid_nats_start(void);
void amid_nats_kick(amid_server *s); /* new messages in s's ring */
int amid_nats_idle(void);            /* 1: everything published and acknowledged */
void amid_nats_stop(void);
void amid_nats_free(void);
/* Answers a NATS action request (the REST body, with "status"). */
void amid_nats_reply(const char *reply, int status, const json_t *body);
#else
static inline int amid_nats_stats_get(size_t i, amid_nats_stats *out)
{
    (void)i;
    (void)out;
    return -1;
}
static inline void amid_nats_reply(const char *reply, int status, const json_t *body)
{
    (void)reply;
    (void)status;
    (void)body;
}
static inline int amid_nats_start(void)
{
    return 0;
}
static inline void amid_nats_kick(amid_server *s)
{
    (void)s;
}
static inline int amid_nats_idle(void)
{
    return 1;
}
static inline void amid_nats_stop(void) {}
static inline void amid_nats_free(void) {}
#endif

/* drain.c: the graceful stop. amid_drain_done: 1 once everything is
 * finished or the deadline passed (logged), then shut down. */
void amid_drain_start(int sig);
int amid_drain_done(uint64_t now_ms);
/* nats_kv.c: each server's live state mirrored in a NATS key-value
 * bucket (with libnats and [nats] kv_bucket; no-ops without). */
typedef struct amid_nats_kv_stats {
    uint64_t puts, deletes, pending, inflight, reconciles, errors, overflows, skipped;
    int reconcile_wanted; /* 1: a full reconcile is owed */
} amid_nats_kv_stats;
#ifdef AMID_WITH_NATS
/* 0 and *out for server i, or -1 when there is no bucket. */
int amid_nats_kv_stats_get(size_t i, amid_nats_kv_stats *out);
/* From the store's change callback: the object's key is written again. */
void amid_nats_kv_changed(amid_server *s, ami_state_kind kind, ami_state_change change,
                          const ami_state_object *old, const ami_state_object *now);
/* A resync completed: the bucket is reconciled with the store. */
void amid_nats_kv_resynced(amid_server *s);
#else
static inline int amid_nats_kv_stats_get(size_t i, amid_nats_kv_stats *out)
{
    (void)i;
    (void)out;
    return -1;
}
static inline void amid_nats_kv_changed(amid_server *s, ami_state_kind kind,
                                        ami_state_change change, const ami_state_object *old,
                                        const ami_state_object *now)
{
    (void)s;
    (void)kind;
    (void)change;
    (void)old;
    (void)now;
}
static inline void amid_nats_kv_resynced(amid_server *s)
{
    (void)s;
}
#endif

/* metrics.c */
char *amid_metrics_text(size_t *len);

uint64_t amid_now_ms(void);

#endif
