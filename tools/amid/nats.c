/* NATS JetStream publishing (built only with libnats).
 *
 * Every message of a server's hub ring (events and in-stream gap notices)
 * is published, in sequence order, to `<prefix>.<server>.events.<Name>`
 * (or `<prefix>.<server>.gap`) with the header Nats-Msg-Id, so that
 * JetStream drops a copy sent again after an error or an outage (within
 * the stream's duplicate window): `<server>:<epoch>:<seq>`, or, for an
 * event with a Timestamp (timestampevents = yes), the event's own id
 * `<server>:ts:<Timestamp>:<hash>` (msgid.c), the same in every amid
 * connected to that PBX, so that an HA pair stores each event once. The
 * header Amid-Seq carries the sequence number, which the acknowledgement
 * needs to find its window slot.
 *
 * The ring is the only queue: amid keeps a cursor per server (`next`, the
 * next sequence number to send; `acked`, the last one JetStream confirmed
 * with every earlier one) and at most max_inflight unacknowledged
 * publishes, well below libnats's own pending limit, where
 * js_PublishMsgAsync would stall the loop. Acknowledgements arrive on
 * libnats's threads; they are queued under a mutex (bounded) and handed
 * to the loop with uv_async. On any failure (an error ack, libnats's ack
 * timeout, a publish refused while reconnecting) the server's window is
 * dropped and publishing restarts from acked + 1 after a short back-off:
 * what JetStream already has comes back as a duplicate and is not stored
 * twice. What the ring evicted before it could be published is published
 * once as `<prefix>.<server>.gap` {"type":"gap","from":A,"to":B,
 * "reason":"ring"}.
 *
 * The connection and the stream check are blocking libnats calls: they
 * run on libuv's thread pool (uv_queue_work), never on the loop. */
#include "nats_kv.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint64_t covers; /* last sequence number this publish accounts for */
    uint64_t sent_ms;
    int acked;
} slot;

typedef struct nsrv {
    jsCtx *js;
    int js_used;           /* an async publish on js succeeded (amid_nats_drop_pending) */
    natsSubscription *sub; /* <prefix>.S.action */
    uint64_t next;         /* next sequence number to publish */
    uint64_t acked;        /* all up to here are in the stream */
    slot *win;             /* FIFO of in-flight publishes */
    size_t win_head, win_count;
    uint64_t retry_at_ms;
    uint64_t backoff_ms;
    uint64_t published, acks, errors, gaps, resets, requests;
} nsrv;

/* An action request, copied off libnats's thread. */
typedef struct req_rec {
    size_t server;
    char *reply;
    char *data; /* NULL: over max_body_bytes */
    size_t len;
} req_rec;

#define MAX_QUEUED_REQUESTS 1024

/* How long shutdown waits for libnats's threads to end. */
#define NATS_CLOSE_WAIT_MS 10000

typedef struct ack_rec {
    size_t server;
    uint64_t covers;
    int ok;
} ack_rec;

static struct {
    int on;
    int ready;       /* connected once and the stream checked */
    int stopping;    /* shutdown began */
    int working;     /* a connect job is on the thread pool */
    int lost;        /* the connection closed: connect_work replaces it */
    uint64_t losses; /* connections that closed under amid */
    uint64_t connect_at_ms;
    natsOptions *opts;
    natsConnection *nc;
    nsrv *srv;
    uv_work_t work;
    natsStatus work_status;
    char work_err[512];
    uv_timer_t timer;
    uv_async_t async;
    /* filled by libnats threads */
    pthread_mutex_t mu;
    ack_rec *q;
    size_t q_cap, q_head, q_count;
    uint64_t q_dropped;
    req_rec rq[MAX_QUEUED_REQUESTS];
    size_t rq_head, rq_count;
    int connected; /* under mu */
    int closed;    /* under mu: the connection is gone, make a new one */
    /* under mu: the async handle is closed. A libnats thread that calls
     * back later (nats_CloseAndWait gave up waiting for it) must not wake
     * a loop that is gone: libuv aborts on the write to its closed fd. */
    int loop_gone;
    int threads_left; /* nats_CloseAndWait timed out: keep mu alive */
} N;

/* --------------------------------------------------- libnats threads */

/* Every publish carries Amid-Seq: the last sequence number it accounts
 * for (a ring gap A-B: B), which finds its window slot. The id cannot
 * say: an event's own id (msgid.c) holds no sequence number. */
#define SEQ_HEADER "Amid-Seq"

static int parse_covers(const char *num, uint64_t *covers)
{
    if (!num || *num < '0' || *num > '9')
        return -1;
    char *end;
    unsigned long long v = strtoull(num, &end, 10);
    if (*end)
        return -1;
    *covers = v;
    return 0;
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    (void)pa;
    const char *seq = NULL;
    uint64_t covers;
    int found =
        natsMsgHeader_Get(msg, SEQ_HEADER, &seq) == NATS_OK && parse_covers(seq, &covers) == 0;
    natsMsg_Destroy(msg); /* ours to free (jsPubAckHandler's contract) */
    if (!found)
        return;
    pthread_mutex_lock(&N.mu);
    if (N.loop_gone) {
        pthread_mutex_unlock(&N.mu);
        return;
    }
    if (N.q_count < N.q_cap) {
        ack_rec *r = &N.q[(N.q_head + N.q_count) % N.q_cap];
        r->server = (size_t)(uintptr_t)closure;
        r->covers = covers;
        r->ok = pae == NULL;
        N.q_count++;
    } else
        N.q_dropped++;       /* the slot times out and is sent again */
    uv_async_send(&N.async); /* under mu: see loop_gone */
    pthread_mutex_unlock(&N.mu);
}

static void answer_now(natsConnection *nc, const char *reply, int status, const char *why)
{
    char b[256];
    int n = snprintf(b, sizeof b, "{\"error\":\"%s\",\"status\":%d}", why, status);
    natsConnection_Publish(nc, reply, b, n);
}

/* <prefix>.S.action: queued for the loop, bounded; a request that finds
 * the queue full, or has no reply subject, is answered (or dropped) here
 * without touching amid's state. */
static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub;
    const char *reply = natsMsg_GetReply(msg);
    if (!reply || !*reply || strlen(reply) > 255) {
        natsMsg_Destroy(msg);
        return;
    }
    int len = natsMsg_GetDataLength(msg);
    req_rec r = {.server = (size_t)(uintptr_t)closure, .reply = strdup(reply)};
    if (len >= 0 && (size_t)len <= amid->cfg.max_body_bytes) {
        r.data = malloc((size_t)len + 1);
        if (r.data) {
            memcpy(r.data, natsMsg_GetData(msg), (size_t)len);
            r.data[len] = '\0';
            r.len = (size_t)len;
        }
    }
    int queued = 0, gone = 0;
    if (r.reply && (r.data || len < 0 || (size_t)len > amid->cfg.max_body_bytes)) {
        pthread_mutex_lock(&N.mu);
        gone = N.loop_gone;
        if (!gone && N.rq_count < MAX_QUEUED_REQUESTS) {
            N.rq[(N.rq_head + N.rq_count) % MAX_QUEUED_REQUESTS] = r;
            N.rq_count++;
            queued = 1;
            uv_async_send(&N.async); /* under mu: see loop_gone */
        }
        pthread_mutex_unlock(&N.mu);
    }
    if (!queued) {
        answer_now(nc, reply, 503,
                   gone ? "amid is shutting down" : "amid is busy: too many queued NATS requests");
        free(r.reply);
        free(r.data);
    }
    natsMsg_Destroy(msg);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
    pthread_mutex_lock(&N.mu);
    N.connected = 0;
    if (!N.loop_gone)
        uv_async_send(&N.async);
    pthread_mutex_unlock(&N.mu);
}

static void on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
    pthread_mutex_lock(&N.mu);
    N.connected = 0;
    N.closed = 1;
    if (!N.loop_gone)
        uv_async_send(&N.async);
    pthread_mutex_unlock(&N.mu);
}

/* --------------------------------------------------- connect (pool) */

static int no_jetstream(natsStatus s, jsErrCode e)
{
    return s == NATS_NO_RESPONDERS || e == JSNotEnabledErr || e == JSNotEnabledForAccountErr;
}

static void stream_subjects(char subj[2][160])
{
    const char *p = amid->cfg.nats.subject_prefix;
    snprintf(subj[0], 160, "%s.*.events.>", p);
    snprintf(subj[1], 160, "%s.*.gap", p);
}

/* Creates the stream, or checks that the existing one takes amid's
 * subjects. Runs on the pool. */
static natsStatus ensure_stream(jsCtx *js, char *err, size_t cap)
{
    amid_nats_conf *c = &amid->cfg.nats;
    char subj[2][160];
    stream_subjects(subj);
    jsStreamInfo *si = NULL;
    jsErrCode e = 0;
    natsStatus s = js_GetStreamInfo(&si, js, c->stream, NULL, &e);
    if (s == NATS_OK) {
        int have[2] = {0, 0};
        for (int i = 0; i < si->Config->SubjectsLen; i++)
            for (int k = 0; k < 2; k++)
                have[k] |= !strcmp(si->Config->Subjects[i], subj[k]);
        jsStreamInfo_Destroy(si);
        if (!have[0] || !have[1]) {
            snprintf(err, cap,
                     "stream %s exists but does not take the subjects %s and %s; add them "
                     "(nats stream edit) or name another stream in [nats] stream",
                     c->stream, subj[0], subj[1]);
            return NATS_ERR;
        }
        return NATS_OK;
    }
    if (no_jetstream(s, e)) {
        snprintf(err, cap,
                 "the NATS server has no JetStream: start it with -js (or jetstream {} in "
                 "its config) or enable JetStream for this account");
        return s;
    }
    if (e != JSStreamNotFoundErr && s != NATS_NOT_FOUND) {
        snprintf(err, cap, "cannot look up stream %s: %s (code %d)", c->stream,
                 natsStatus_GetText(s), (int)e);
        return s;
    }
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subjects[2] = {subj[0], subj[1]};
    sc.Name = c->stream;
    sc.Subjects = subjects;
    sc.SubjectsLen = 2;
    sc.Storage = js_FileStorage;
    sc.MaxAge = c->max_age_s * 1000000000LL;
    sc.MaxBytes = c->max_bytes ? c->max_bytes : -1;
    sc.Replicas = c->replicas;
    sc.Duplicates = (int64_t)c->duplicate_window_s * 1000000000LL;
    e = 0;
    s = js_AddStream(&si, js, &sc, NULL, &e);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return NATS_OK;
    }
    if (no_jetstream(s, e))
        snprintf(err, cap, "the NATS server has no JetStream: start it with -js");
    else
        snprintf(err, cap, "cannot create stream %s: %s (code %d%s)", c->stream,
                 natsStatus_GetText(s), (int)e,
                 c->replicas > 1 ? "; replicas > 1 needs a cluster of that many servers" : "");
    return s;
}

void amid_nats_drop_pending(jsCtx *js, int used)
{
    /* libnats 3.4.1 makes a context's map of pending publishes on its
     * first async publish, and js_PublishAsyncGetPendingList reads the
     * map without checking for NULL: on a context that never published
     * it crashes (it did, in amid's shutdown after a reconnection). */
    if (!js || !used)
        return;
    natsMsgList pl = {0};
    if (js_PublishAsyncGetPendingList(&pl, js) == NATS_OK)
        natsMsgList_Destroy(&pl);
}

natsStatus amid_nats_async_context(jsCtx **out, natsConnection *nc, jsPubAckHandler ack_cb,
                                   size_t i)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = amid->cfg.nats.ack_timeout_ms;
    /* libnats's own bound, far above ours: it is never reached. */
    jo.PublishAsync.MaxPending = (int64_t)amid->cfg.nats.max_inflight * 8 + 1024;
    jo.PublishAsync.StallWait = 1;
    jo.PublishAsync.AckHandler = ack_cb;
    jo.PublishAsync.AckHandlerClosure = (void *)(uintptr_t)i;
    return natsConnection_JetStream(out, nc, &jo);
}

static void connect_work(uv_work_t *w)
{
    (void)w;
    amid_nats_conf *c = &amid->cfg.nats;
    N.work_err[0] = '\0';
    natsStatus s = NATS_OK;
    if (N.lost) {
        /* The loop saw it close and stopped using it. */
        for (size_t i = 0; i < amid->n_servers; i++) {
            natsSubscription_Destroy(N.srv[i].sub);
            N.srv[i].sub = NULL;
        }
        for (size_t i = 0; i < amid->n_servers; i++)
            if (N.srv[i].js) {
                jsCtx_Destroy(N.srv[i].js);
                N.srv[i].js = NULL;
                N.srv[i].js_used = 0;
            }
        amid_nats_kv_release();
        natsConnection_Destroy(N.nc);
        N.nc = NULL;
        N.lost = 0;
    }
    if (!N.nc) {
        s = natsConnection_Connect(&N.nc, N.opts);
        if (s != NATS_OK) {
            N.nc = NULL;
            snprintf(N.work_err, sizeof N.work_err, "cannot connect to %s: %s", c->url,
                     natsStatus_GetText(s));
            N.work_status = s;
            return;
        }
        pthread_mutex_lock(&N.mu);
        N.connected = 1;
        pthread_mutex_unlock(&N.mu);
    }
    for (size_t i = 0; i < amid->n_servers && s == NATS_OK; i++) {
        if (N.srv[i].js)
            continue;
        s = amid_nats_async_context(&N.srv[i].js, N.nc, on_ack, i);
        if (s != NATS_OK)
            snprintf(N.work_err, sizeof N.work_err, "cannot get a JetStream context: %s",
                     natsStatus_GetText(s));
    }
    if (s == NATS_OK)
        s = ensure_stream(N.srv[0].js, N.work_err, sizeof N.work_err);
    if (s == NATS_OK)
        s = amid_nats_kv_connect(N.nc, N.work_err, sizeof N.work_err);
    for (size_t i = 0; i < amid->n_servers && s == NATS_OK; i++) {
        if (N.srv[i].sub)
            continue;
        char subj[160];
        snprintf(subj, sizeof subj, "%s.%s.action", c->subject_prefix, amid->servers[i].conf->name);
        s = natsConnection_Subscribe(&N.srv[i].sub, N.nc, subj, on_request, (void *)(uintptr_t)i);
        if (s != NATS_OK)
            snprintf(N.work_err, sizeof N.work_err, "cannot subscribe to %s: %s", subj,
                     natsStatus_GetText(s));
    }
    N.work_status = s;
}

static void pump(amid_server *s);
static void finish_close(void);

static void connect_done(uv_work_t *w, int status)
{
    (void)w;
    N.working = 0;
    if (N.stopping) {
        amid_nats_job_done();
        return;
    }
    if (status == 0 && N.work_status == NATS_OK) {
        N.ready = 1;
        amid_info("nats ready", "stream=%s prefix=%s", amid->cfg.nats.stream,
                  amid->cfg.nats.subject_prefix);
        for (size_t i = 0; i < amid->n_servers; i++)
            pump(&amid->servers[i]);
        amid_nats_kv_ready();
        return;
    }
    char m[512];
    amid_error("nats not ready, retrying in 2 s", "error=\"%s\"",
               amid_log_clean(m, sizeof m, N.work_err));
    N.connect_at_ms = amid_now_ms() + 2000; /* the timer starts the next attempt */
}

static void start_connect(void)
{
    /* Also waits for a state bucket job: it uses the connection. */
    if (N.working || N.ready || N.stopping || amid_nats_kv_busy())
        return;
    N.working = 1;
    uv_queue_work(amid->loop, &N.work, connect_work, connect_done);
}

/* --------------------------------------------------------- the loop */

static int is_connected(void)
{
    pthread_mutex_lock(&N.mu);
    int c = N.connected;
    pthread_mutex_unlock(&N.mu);
    return c;
}

static void reset(amid_server *s, const char *why)
{
    nsrv *ns = &N.srv[s->index];
    if (ns->win_count || ns->next != ns->acked + 1) {
        ns->resets++;
        amid_warn("nats publish failed, resending from the last acknowledged event",
                  "server=%s reason=%s acked=%llu next=%llu", s->conf->name, why,
                  (unsigned long long)ns->acked, (unsigned long long)ns->next);
    }
    ns->win_head = ns->win_count = 0;
    ns->next = ns->acked + 1;
    /* Forget what libnats still waits for: their acks would only come for
     * publishes already given up. */
    amid_nats_drop_pending(ns->js, ns->js_used);
    ns->backoff_ms = ns->backoff_ms ? ns->backoff_ms * 2 : 100;
    if (ns->backoff_ms > 2000)
        ns->backoff_ms = 2000;
    ns->retry_at_ms = amid_now_ms() + ns->backoff_ms;
}

static amid_msg *ring_find(amid_server *s, uint64_t seq)
{
    if (!s->ring_count)
        return NULL;
    uint64_t first = s->ring[s->ring_head]->seq;
    if (seq < first || seq - first >= s->ring_count)
        return NULL;
    amid_msg *m = s->ring[(s->ring_head + (size_t)(seq - first)) % s->ring_cap];
    return m->seq == seq ? m : NULL;
}

static uint64_t ring_first(amid_server *s)
{
    return s->ring_count ? s->ring[s->ring_head]->seq : s->seq + 1;
}

static int send_one(amid_server *s, const char *subject, const char *msgid, const void *data,
                    size_t len, uint64_t covers)
{
    nsrv *ns = &N.srv[s->index];
    natsMsg *msg = NULL;
    char seq[24];
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)covers);
    natsStatus st = natsMsg_Create(&msg, subject, NULL, data, (int)len);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(msg, "Nats-Msg-Id", msgid);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(msg, SEQ_HEADER, seq);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = amid->cfg.nats.ack_timeout_ms;
    if (st == NATS_OK)
        st = js_PublishMsgAsync(ns->js, &msg, &po);
    natsMsg_Destroy(msg); /* NULL once libnats took it */
    if (st != NATS_OK) {
        ns->errors++;
        reset(s, natsStatus_GetText(st));
        return -1;
    }
    ns->js_used = 1;
    size_t cap = (size_t)amid->cfg.nats.max_inflight;
    slot *sl = &ns->win[(ns->win_head + ns->win_count) % cap];
    sl->covers = covers;
    sl->sent_ms = amid_now_ms();
    sl->acked = 0;
    ns->win_count++;
    ns->published++;
    return 0;
}

/* Publishes from the ring while the window has room. Bounded by the
 * window: the loop never does more than max_inflight publishes here. */
static void pump(amid_server *s)
{
    nsrv *ns = &N.srv[s->index];
    if (!N.ready || N.stopping || !ns->js || amid_now_ms() < ns->retry_at_ms || !is_connected())
        return;
    const char *pfx = amid->cfg.nats.subject_prefix, *name = s->conf->name;
    size_t cap = (size_t)amid->cfg.nats.max_inflight;
    char subject[512], id[AMID_MSGID_MAX];
    while (ns->win_count < cap && ns->next <= s->seq) {
        uint64_t first = ring_first(s);
        amid_msg *m = ns->next >= first ? ring_find(s, ns->next) : NULL;
        if (!m) {
            /* Lost before it could be published: one gap message. */
            uint64_t to = ns->next < first ? first - 1 : ns->next;
            amid_msg *g = amid_gap_msg(s, ns->next, to, "ring", NULL);
            if (!g)
                return; /* out of memory: the timer tries again */
            snprintf(subject, sizeof subject, "%s.%s.gap", pfx, name);
            snprintf(id, sizeof id, "%s:%s:gap-%llu-%llu", name, amid->epoch,
                     (unsigned long long)ns->next, (unsigned long long)to);
            amid_warn("nats gap: events left the ring before NATS took them",
                      "server=%s from=%llu to=%llu", name, (unsigned long long)ns->next,
                      (unsigned long long)to);
            int sent = send_one(s, subject, id, amid_msg_data(g), g->len, to);
            amid_msg_unref(g);
            if (sent != 0)
                return;
            ns->gaps++;
            ns->next = to + 1;
            continue;
        }
        const char *ev = amid_msg_subject_token(m);
        if (ev)
            snprintf(subject, sizeof subject, "%s.%s.events.%s", pfx, name, ev);
        else
            snprintf(subject, sizeof subject, "%s.%s.gap", pfx, name);
        /* The event's own id when it has one (a Timestamp): the same in
         * every amid connected to this PBX. */
        const char *own = amid_msg_nats_id(m);
        if (own)
            snprintf(id, sizeof id, "%s", own);
        else
            snprintf(id, sizeof id, "%s:%s:%llu", name, amid->epoch, (unsigned long long)m->seq);
        if (send_one(s, subject, id, amid_msg_data(m), m->len, m->seq) != 0)
            return;
        ns->next++;
    }
}

static void apply_ack(const ack_rec *r)
{
    if (r->server >= amid->n_servers)
        return;
    amid_server *s = &amid->servers[r->server];
    nsrv *ns = &N.srv[r->server];
    size_t cap = (size_t)amid->cfg.nats.max_inflight;
    for (size_t i = 0; i < ns->win_count; i++) {
        slot *sl = &ns->win[(ns->win_head + i) % cap];
        if (sl->covers != r->covers)
            continue;
        if (!r->ok) {
            ns->errors++;
            reset(s, "error acknowledgement");
            return;
        }
        sl->acked = 1;
        ns->acks++;
        break;
    }
    while (ns->win_count && ns->win[ns->win_head].acked) {
        ns->acked = ns->win[ns->win_head].covers;
        ns->win_head = (ns->win_head + 1) % cap;
        ns->win_count--;
        ns->backoff_ms = 0;
    }
}

/* The connection closed (an outage, a server restart): stop publishing,
 * drop every window, and have connect_work replace it. Waits while a
 * connect job runs (it owns the connection then). */
static void check_closed(void)
{
    if (N.working || N.stopping)
        return;
    pthread_mutex_lock(&N.mu);
    int closed = N.closed;
    N.closed = 0;
    pthread_mutex_unlock(&N.mu);
    if (!closed)
        return;
    amid_warn("nats connection lost, reconnecting", "url=%s", amid->cfg.nats.url);
    N.losses++;
    N.ready = 0;
    N.lost = 1;
    for (size_t i = 0; i < amid->n_servers; i++)
        reset(&amid->servers[i], "connection lost");
    amid_nats_kv_lost();
    N.connect_at_ms = amid_now_ms() + 250;
}

/* The NATS form of POST /v1/servers/S/actions: the same JSON in, the
 * same body out (plus "status"). The NATS account's permission to
 * publish on the subject is the authorisation: amid applies no token, but
 * still refuses the actions that would change the shared AMI connection. */
static char nats_token_name[] = "nats";
static amid_token nats_token = {
    .name = nats_token_name, .servers = {.all = 1}, .actions = {.all = 1}, .events = {.all = 1}};

void amid_nats_reply(const char *reply, int status, const json_t *body)
{
    if (!N.ready || N.stopping || !N.nc)
        return; /* the requester times out */
    json_t *o = body ? json_deep_copy(body) : json_object();
    if (!o)
        return;
    if (!json_object_get(o, "status"))
        json_object_set_new(o, "status", json_integer(status));
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (txt)
        natsConnection_Publish(N.nc, reply, txt, (int)strlen(txt));
    free(txt);
}

static void run_request(req_rec *r)
{
    char why[512];
    int st = 0;
    json_t *action = NULL;
    if (r->server >= amid->n_servers)
        return;
    amid_server *s = &amid->servers[r->server];
    N.srv[r->server].requests++;
    if (amid->draining) {
        st = 503;
        snprintf(why, sizeof why, "amid is shutting down");
    } else if (!r->data) {
        st = 413;
        snprintf(why, sizeof why, "body over max_body_bytes (%zu)", amid->cfg.max_body_bytes);
    } else {
        json_error_t jerr;
        action = json_loadb(r->data, r->len, JSON_REJECT_DUPLICATES, &jerr);
        if (!action) {
            st = 400;
            snprintf(why, sizeof why, "bad JSON: %s", jerr.text);
        }
    }
    if (!st) {
        amid_req *req = amid_req_new();
        if (!req) {
            st = 503;
            snprintf(why, sizeof why, "out of memory");
        } else {
            req->nats_reply = r->reply;
            r->reply = NULL;
            st = amid_run_action(&nats_token, s, action, req, why, sizeof why);
            if (st) {
                r->reply = req->nats_reply;
                amid_req_unlink(req);
                free(req);
            }
        }
    }
    json_decref(action);
    if (st) {
        json_t *b = amid_error_body(st, why);
        amid_nats_reply(r->reply, st, b);
        json_decref(b);
    }
}

static void on_async(uv_async_t *h)
{
    (void)h;
    check_closed();
    for (int k = 0; k < 64; k++) { /* bounded per wake-up; the rest next time */
        pthread_mutex_lock(&N.mu);
        int have = N.rq_count > 0;
        req_rec r = {0};
        if (have) {
            r = N.rq[N.rq_head];
            N.rq_head = (N.rq_head + 1) % MAX_QUEUED_REQUESTS;
            N.rq_count--;
        }
        int more = N.rq_count > 0;
        pthread_mutex_unlock(&N.mu);
        if (!have)
            break;
        run_request(&r);
        free(r.reply);
        free(r.data);
        if (more && k == 63)
            uv_async_send(&N.async);
    }
    ack_rec batch[256];
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&N.mu);
        while (n < 256 && N.q_count) {
            batch[n++] = N.q[N.q_head];
            N.q_head = (N.q_head + 1) % N.q_cap;
            N.q_count--;
        }
        pthread_mutex_unlock(&N.mu);
        for (size_t i = 0; i < n; i++)
            apply_ack(&batch[i]);
        if (n < 256)
            break;
    }
    for (size_t i = 0; i < amid->n_servers; i++)
        pump(&amid->servers[i]);
}

static void on_timer(uv_timer_t *t)
{
    (void)t;
    uint64_t now = amid_now_ms();
    check_closed();
    if (!N.ready) {
        if (!N.working && now >= N.connect_at_ms)
            start_connect();
        return;
    }
    for (size_t i = 0; i < amid->n_servers; i++) {
        nsrv *ns = &N.srv[i];
        /* An ack that never came (its record dropped, or lost in a
         * reconnect): libnats times out at ack_timeout; this is the
         * backstop. */
        if (ns->win_count &&
            now > ns->win[ns->win_head].sent_ms + 2 * (uint64_t)amid->cfg.nats.ack_timeout_ms)
            reset(&amid->servers[i], "acknowledgement overdue");
        pump(&amid->servers[i]);
    }
}

/* ------------------------------------------------------------ public */

int amid_nats_stats_get(size_t i, amid_nats_stats *out)
{
    if (!N.on || i >= amid->n_servers)
        return -1;
    nsrv *ns = &N.srv[i];
    out->ready = N.ready;
    out->connection_losses = N.losses;
    out->published = ns->published;
    out->acked_seq = ns->acked;
    out->inflight = ns->win_count;
    out->errors = ns->errors;
    out->resets = ns->resets;
    out->ring_gaps = ns->gaps;
    out->requests = ns->requests;
    return 0;
}

void amid_nats_kick(amid_server *s)
{
    if (N.on)
        pump(s);
}

int amid_nats_usable(void)
{
    return N.on && N.ready && !N.stopping && is_connected();
}

/* Not ready (NATS down, or never reached) is not idle: the drain waits
 * for it within its deadline, and counts what it had to leave. */
int amid_nats_idle(void)
{
    if (!N.on)
        return 1;
    if (!amid_nats_kv_idle())
        return 0;
    for (size_t i = 0; i < amid->n_servers; i++)
        if (N.srv[i].acked < amid->servers[i].seq)
            return 0;
    return 1;
}

int amid_nats_start(void)
{
    amid_nats_conf *c = &amid->cfg.nats;
    if (!c->enabled)
        return 0;
    N.srv = calloc(amid->n_servers, sizeof *N.srv);
    if (!N.srv)
        return -1;
    for (size_t i = 0; i < amid->n_servers; i++) {
        N.srv[i].win = calloc((size_t)c->max_inflight, sizeof *N.srv[i].win);
        if (!N.srv[i].win)
            return -1;
        N.srv[i].next = 1;
    }
    N.q_cap = amid->n_servers * (size_t)c->max_inflight * 2 + 64;
    N.q = calloc(N.q_cap, sizeof *N.q);
    if (!N.q)
        return -1;
    pthread_mutex_init(&N.mu, NULL);
    /* The URLs, split and trimmed here: libnats 3.4's SetURL keeps the
     * space after a comma, and then finds no server. config.c allows at
     * most 16, each without spaces. */
    char urls[1024];
    const char *srv[16];
    int ns = 0;
    snprintf(urls, sizeof urls, "%s", c->url);
    for (char *save = NULL, *t = strtok_r(urls, ", ", &save); t && ns < 16;
         t = strtok_r(NULL, ", ", &save))
        srv[ns++] = t;
    if (natsOptions_Create(&N.opts) != NATS_OK || !ns ||
        natsOptions_SetServers(N.opts, srv, ns) != NATS_OK ||
        natsOptions_SetName(N.opts, "amid") != NATS_OK ||
        /* No reconnection inside libnats: after an outage it would send
         * what it buffered (publishes not yet written when the socket
         * died) ahead of the in-flight ones the outage lost, out of order.
         * amid makes a new connection instead (connect_work, which tries
         * every URL) and publishes again from the ring, in order, from
         * the last acknowledged event. */
        natsOptions_SetAllowReconnect(N.opts, false) != NATS_OK ||
        natsOptions_SetDisconnectedCB(N.opts, on_disconnected, NULL) != NATS_OK ||
        natsOptions_SetClosedCB(N.opts, on_closed, NULL) != NATS_OK)
        return -1;
    if (c->user && natsOptions_SetUserInfo(N.opts, c->user, c->password) != NATS_OK)
        return -1;
    if (c->creds_file &&
        natsOptions_SetUserCredentialsFromFiles(N.opts, c->creds_file, NULL) != NATS_OK)
        return -1;
    if (amid_nats_kv_start() != 0)
        return -1;
    uv_async_init(amid->loop, &N.async, on_async);
    uv_timer_init(amid->loop, &N.timer);
    uv_timer_start(&N.timer, on_timer, 100, 100);
    N.on = 1;
    start_connect();
    return 0;
}

/* Closes the connection (its threads call on_ack and the callbacks
 * above, which touch the async handle), waits for libnats's threads,
 * then closes the handle. Never while a connect job is on the pool. */
static void finish_close(void)
{
    uint64_t t0 = amid_now_ms();
    if (N.nc)
        natsConnection_Close(N.nc);
    for (size_t i = 0; i < amid->n_servers; i++) {
        natsSubscription_Destroy(N.srv[i].sub);
        N.srv[i].sub = NULL;
    }
    for (size_t i = 0; i < amid->n_servers; i++)
        if (N.srv[i].js) {
            jsCtx_Destroy(N.srv[i].js);
            N.srv[i].js = NULL;
            N.srv[i].js_used = 0;
        }
    amid_nats_kv_release();
    natsConnection_Destroy(N.nc);
    N.nc = NULL;
    natsOptions_Destroy(N.opts);
    N.opts = NULL;
    natsStatus cw = nats_CloseAndWait(NATS_CLOSE_WAIT_MS);
    if (cw != NATS_OK) {
        /* Its threads may still call back: they find loop_gone and return,
         * and the mutexes they take stay (amid_nats_free). */
        amid_warn("nats: libnats did not finish in time, stopping anyway", "ms=%d error=\"%s\"",
                  NATS_CLOSE_WAIT_MS, natsStatus_GetText(cw));
        N.threads_left = 1;
    } else
        amid_info("nats closed", "ms=%llu", (unsigned long long)(amid_now_ms() - t0));
    pthread_mutex_lock(&N.mu);
    N.loop_gone = 1;
    uv_close((uv_handle_t *)&N.async, NULL);
    pthread_mutex_unlock(&N.mu);
    amid_nats_kv_close_handles();
}

/* Shutdown closes once neither a connect job nor a state bucket job is
 * on the pool (each uses the connection); the last to finish calls it. */
void amid_nats_job_done(void)
{
    if (N.stopping && !N.working && !amid_nats_kv_busy())
        finish_close();
}

void amid_nats_stop(void)
{
    if (!N.on || N.stopping)
        return;
    N.stopping = 1;
    uv_timer_stop(&N.timer);
    uv_close((uv_handle_t *)&N.timer, NULL);
    amid_nats_kv_stop();
    amid_nats_job_done();
}

/* After the loop has ended. */
void amid_nats_free(void)
{
    if (!N.on)
        return;
    for (size_t i = 0; i < N.rq_count; i++) {
        req_rec *r = &N.rq[(N.rq_head + i) % MAX_QUEUED_REQUESTS];
        free(r->reply);
        free(r->data);
    }
    for (size_t i = 0; i < amid->n_servers; i++)
        free(N.srv[i].win);
    free(N.srv);
    free(N.q);
    amid_nats_kv_free(N.threads_left);
    if (!N.threads_left)
        pthread_mutex_destroy(&N.mu);
    N.on = 0;
}
