/* Each server's live state in a NATS key-value bucket (built only with
 * libnats; [nats] kv_bucket, default ami_state): one key per object
 * (nats_kv_keys.c) holding the object's JSON, deleted when it goes, so
 * that any consumer can read or watch the state without amid.
 *
 * Writes never block the loop: kvStore_Put is synchronous, so a put is a
 * js_PublishMsgAsync to $KV.<bucket>.<key> on a JetStream context of our
 * own per server (its own ack handler), and a delete the same message
 * kvStore_Delete sends: no body, header KV-Operation: DEL. At most
 * max_inflight writes per server wait for their acknowledgement.
 *
 * What is queued is keys, not values: the store's change callback marks
 * the key dirty (a set in FIFO order, at most kv_max_pending keys), and
 * the value is taken from the store when the key is sent: a put of the
 * object's JSON if the key is still an object's, else a delete. So a key
 * changed a thousand times while NATS was slow is written once, and
 * whatever is sent last for a key is the store's truth at that moment;
 * every later change marks it again.
 *
 * Anything that may have lost a write — NATS down, an error or missing
 * acknowledgement, the dirty set overflowing — marks the server "needs a
 * full reconcile" (logged, counted). So do each completed state resync
 * and each (re)connection. A reconcile waits until the server's writes
 * in flight are acknowledged, then lists the server's keys on the thread
 * pool (a headers-only watch of <server>.>) and, back on the loop, sends
 * every listed key that is no longer an object's (a delete) and every
 * object's key (a put). Objects that change meanwhile go through the
 * dirty set as usual.
 *
 * Deletes leave markers, one per call, which would pile up: every
 * kv_delete_markers (at most hourly) a reconcile is owed, and its listing
 * also finds the markers older than kv_delete_markers (default 30
 * minutes) and purges each up to its own sequence number only, so a
 * value put after the marker stays (kvStore_PurgeDeletes purges the
 * whole subject, racing with such a put, and libnats 3.4.1 leaks every
 * entry it reads that is not a marker). */
#include "nats_kv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_LIST_MAX        4000000 /* keys read back per server per reconcile */
#define KV_LIST_TIMEOUT_MS 60000
#define KV_PURGE_EVERY_MAX (3600 * 1000ull) /* checked at most this far apart */
#define KV_BACKOFF_MAX_MS  30000
#define KV_ID_MAX          (AMID_KV_KEY_MAX + 1)

/* ------------------------------------------------ the dirty key set */

typedef struct pkey {
    struct pkey *hnext, *qnext;
    uint32_t hash;
    char key[];
} pkey;

typedef struct pset {
    pkey **tab;
    size_t mask, count;
    pkey *head, *tail;
} pset;

static uint32_t hash_of(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int pset_grow(pset *p)
{
    size_t n = p->tab ? (p->mask + 1) * 2 : 64;
    pkey **t = calloc(n, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; p->tab && i <= p->mask; i++)
        for (pkey *k = p->tab[i], *next; k; k = next) {
            next = k->hnext;
            k->hnext = t[k->hash & (n - 1)];
            t[k->hash & (n - 1)] = k;
        }
    free(p->tab);
    p->tab = t;
    p->mask = n - 1;
    return 0;
}

/* 1 added, 0 already there, -1 out of memory. */
static int pset_add(pset *p, const char *key)
{
    uint32_t h = hash_of(key);
    if (p->tab)
        for (pkey *k = p->tab[h & p->mask]; k; k = k->hnext)
            if (k->hash == h && !strcmp(k->key, key))
                return 0;
    if ((!p->tab || p->count > p->mask) && pset_grow(p) != 0)
        return -1;
    size_t n = strlen(key);
    pkey *k = malloc(sizeof *k + n + 1);
    if (!k)
        return -1;
    memcpy(k->key, key, n + 1);
    k->hash = h;
    k->hnext = p->tab[h & p->mask];
    p->tab[h & p->mask] = k;
    k->qnext = NULL;
    if (p->tail)
        p->tail->qnext = k;
    else
        p->head = k;
    p->tail = k;
    p->count++;
    return 1;
}

/* The oldest key (the caller frees it), or NULL. */
static pkey *pset_pop(pset *p)
{
    pkey *k = p->head;
    if (!k)
        return NULL;
    p->head = k->qnext;
    if (!p->head)
        p->tail = NULL;
    pkey **pp = &p->tab[k->hash & p->mask];
    while (*pp != k)
        pp = &(*pp)->hnext;
    *pp = k->hnext;
    p->count--;
    return k;
}

static void pset_clear(pset *p)
{
    for (pkey *k = p->head, *next; k; k = next) {
        next = k->qnext;
        free(k);
    }
    free(p->tab);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------ state */

typedef struct kv_srv {
    jsCtx *js;   /* writes; made on the pool at connect */
    int js_used; /* a write on js succeeded (amid_nats_drop_pending) */
    pset dirty;
    char **rec; /* the reconcile's keys, sent from rec_i on */
    size_t rec_n, rec_i;
    int want;   /* a full reconcile is owed */
    int in_job; /* its keys are being listed on the pool */
    int turn;   /* alternates dirty and reconcile keys */
    int warned_skip;
    int purge_in_job;     /* the job also purges old delete markers */
    uint64_t purge_at_ms; /* when the next purge is due */
    /* the job's result (written on the pool) */
    char **listed;
    size_t listed_n;
    int listed_more; /* KV_LIST_MAX reached: another reconcile follows */
    natsStatus list_status;
    char list_err[160];
    uint64_t inflight;
    uint64_t progress_ms; /* last acknowledgement, or the first write of a window */
    uint64_t retry_at_ms, backoff_ms;
    uint64_t puts, deletes, reconciles, errors, overflows, skipped;
} kv_srv;

static struct {
    int on, stopping, working;
    jsCtx *admin;
    kvStore *kv;
    kv_srv *srv;
    natsStatus purge_status; /* the job's first failed purge */
    uv_work_t work;
    uv_async_t async;
    uv_timer_t timer;
    /* filled by libnats threads */
    pthread_mutex_t mu;
    uint64_t *acks_ok, *acks_err;
    char last_err[160];
    int loop_gone; /* under mu: K.async is closed (as N.loop_gone in nats.c) */
} K;

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void drop_rec(kv_srv *ks)
{
    free_strings(ks->rec, ks->rec_n);
    ks->rec = NULL;
    ks->rec_n = ks->rec_i = 0;
}

/* Something may be missing from the bucket: a full reconcile is owed.
 * Logged once per episode. */
static void want_reconcile(amid_server *s, const char *why, int is_error)
{
    kv_srv *ks = &K.srv[s->index];
    if (is_error) {
        ks->errors++;
        ks->backoff_ms = ks->backoff_ms ? ks->backoff_ms * 2 : 500;
        if (ks->backoff_ms > KV_BACKOFF_MAX_MS)
            ks->backoff_ms = KV_BACKOFF_MAX_MS;
        ks->retry_at_ms = amid_now_ms() + ks->backoff_ms;
    }
    if (!ks->want && is_error)
        amid_warn("nats kv: the bucket may differ from the state, full reconcile",
                  "server=%s bucket=%s reason=\"%s\"", s->conf->name, amid->cfg.nats.kv_bucket,
                  why);
    ks->want = 1;
}

/* ----------------------------------------------------- libnats threads */

static void on_kv_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    (void)pa;
    natsMsg_Destroy(msg); /* ours to free */
    size_t i = (size_t)(uintptr_t)closure;
    pthread_mutex_lock(&K.mu);
    if (K.loop_gone) {
        pthread_mutex_unlock(&K.mu);
        return;
    }
    if (pae) {
        K.acks_err[i]++;
        snprintf(K.last_err, sizeof K.last_err, "%s (%d)",
                 pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err), (int)pae->ErrCode);
    } else
        K.acks_ok[i]++;
    uv_async_send(&K.async); /* under mu: see loop_gone */
    pthread_mutex_unlock(&K.mu);
}

/* ---------------------------------------------------- connect (pool) */

/* Binds the bucket, creating it when it does not exist (also before each
 * reconcile: a bucket an operator deleted comes back). Runs on the pool. */
static natsStatus ensure_bucket(char *err, size_t cap)
{
    amid_nats_conf *c = &amid->cfg.nats;
    kvStore *kv = NULL;
    natsStatus s = js_KeyValue(&kv, K.admin, c->kv_bucket);
    if (s == NATS_NOT_FOUND) {
        kvConfig kc;
        kvConfig_Init(&kc);
        kc.Bucket = c->kv_bucket;
        kc.Description = "amid: the live state of each PBX, one key per object";
        kc.History = 1;
        kc.StorageType = js_FileStorage;
        kc.Replicas = c->replicas;
        s = js_CreateKeyValue(&kv, K.admin, &kc);
    }
    if (s != NATS_OK) {
        snprintf(err, cap, "cannot create or bind the key-value bucket %s: %s%s", c->kv_bucket,
                 natsStatus_GetText(s),
                 c->replicas > 1 ? " (replicas > 1 needs a cluster of that many servers)" : "");
        return s;
    }
    kvStore_Destroy(K.kv);
    K.kv = kv;
    return NATS_OK;
}

natsStatus amid_nats_kv_connect(natsConnection *nc, char *err, size_t cap)
{
    amid_nats_conf *c = &amid->cfg.nats;
    if (!K.on)
        return NATS_OK;
    natsStatus s = NATS_OK;
    for (size_t i = 0; i < amid->n_servers && s == NATS_OK; i++)
        if (!K.srv[i].js)
            s = amid_nats_async_context(&K.srv[i].js, nc, on_kv_ack, i);
    if (s == NATS_OK && !K.admin) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = c->ack_timeout_ms;
        s = natsConnection_JetStream(&K.admin, nc, &jo);
    }
    if (s != NATS_OK) {
        snprintf(err, cap, "cannot get a JetStream context: %s", natsStatus_GetText(s));
        return s;
    }
    return ensure_bucket(err, cap);
}

void amid_nats_kv_release(void)
{
    if (!K.on)
        return;
    kvStore_Destroy(K.kv);
    K.kv = NULL;
    for (size_t i = 0; i < amid->n_servers; i++) {
        /* Writes still unacknowledged are ours to free (jsCtx_Destroy
         * leaves them). */
        amid_nats_drop_pending(K.srv[i].js, K.srv[i].js_used);
        jsCtx_Destroy(K.srv[i].js);
        K.srv[i].js = NULL;
        K.srv[i].js_used = 0;
    }
    jsCtx_Destroy(K.admin);
    K.admin = NULL;
}

/* --------------------------------------------- the reconcile job (pool) */

/* Removes one delete marker and what came before it on its subject;
 * a value put after it (a higher sequence number) stays. */
static natsStatus purge_marker(const char *key, uint64_t seq)
{
    char subject[AMID_KV_KEY_MAX + 80], stream[80];
    snprintf(subject, sizeof subject, "$KV.%s.%s", amid->cfg.nats.kv_bucket, key);
    snprintf(stream, sizeof stream, "KV_%s", amid->cfg.nats.kv_bucket);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Stream.Purge.Subject = subject;
    jo.Stream.Purge.Sequence = seq + 1;
    jsErrCode je = 0;
    return js_PurgeStream(K.admin, stream, &jo, &je);
}

typedef struct marker {
    char *key;
    uint64_t seq;
} marker;

/* The keys of one server: a headers-only watch of <server>.>, read up to
 * the end of its initial values. Delete markers are not keys; with
 * purge, those older than kv_delete_markers are purged afterwards. */
static void list_keys(size_t i, int purge)
{
    kv_srv *ks = &K.srv[i];
    char filter[128];
    snprintf(filter, sizeof filter, "%s.>", amid->servers[i].conf->name);
    kvWatchOptions o;
    kvWatchOptions_Init(&o);
    o.MetaOnly = true;
    o.Timeout = KV_LIST_TIMEOUT_MS;
    kvWatcher *w = NULL;
    marker *mk = NULL;
    size_t cap = 0, mn = 0, mcap = 0;
    int64_t old = nats_NowInNanoSeconds() - amid->cfg.nats.kv_delete_markers_s * 1000000000ll;
    natsStatus s = kvStore_Watch(&w, K.kv, filter, &o);
    int64_t end = nats_Now() + KV_LIST_TIMEOUT_MS;
    while (s == NATS_OK) {
        kvEntry *e = NULL;
        int64_t left = end - nats_Now();
        s = left > 0 ? kvWatcher_Next(&e, w, left) : NATS_TIMEOUT;
        if (s != NATS_OK || !e)
            break; /* NULL: every key seen */
        if (kvEntry_Operation(e) != kvOp_Put) {
            if (purge && kvEntry_Created(e) < old && mn < KV_LIST_MAX) {
                if (mn == mcap) {
                    size_t nc = mcap ? mcap * 2 : 64;
                    marker *nm = realloc(mk, nc * sizeof *nm);
                    if (nm) {
                        mk = nm;
                        mcap = nc;
                    }
                }
                if (mn < mcap && (mk[mn].key = strdup(kvEntry_Key(e)))) {
                    mk[mn].seq = kvEntry_Revision(e);
                    mn++;
                }
            }
            kvEntry_Destroy(e);
            continue;
        }
        if (ks->listed_n == KV_LIST_MAX) {
            ks->listed_more = 1;
            kvEntry_Destroy(e);
            break;
        }
        if (ks->listed_n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            char **nv = realloc(ks->listed, nc * sizeof *nv);
            if (!nv) {
                s = NATS_NO_MEMORY;
                kvEntry_Destroy(e);
                break;
            }
            ks->listed = nv;
            cap = nc;
        }
        ks->listed[ks->listed_n] = strdup(kvEntry_Key(e));
        kvEntry_Destroy(e);
        if (!ks->listed[ks->listed_n]) {
            s = NATS_NO_MEMORY;
            break;
        }
        ks->listed_n++;
    }
    kvWatcher_Destroy(w);
    ks->list_status = s;
    if (s != NATS_OK) {
        /* The thread's last error text, "" when libnats set none. */
        const char *why = nats_GetLastError(NULL);
        snprintf(ks->list_err, sizeof ks->list_err, "%s",
                 why && *why ? why : natsStatus_GetText(s));
    }
    for (size_t k = 0; k < mn; k++) {
        natsStatus ps = s == NATS_OK ? purge_marker(mk[k].key, mk[k].seq) : NATS_OK;
        if (ps != NATS_OK && K.purge_status == NATS_OK)
            K.purge_status = ps;
        free(mk[k].key);
    }
    free(mk);
}

static void job_work(uv_work_t *w)
{
    (void)w;
    char err[160];
    natsStatus s = ensure_bucket(err, sizeof err);
    K.purge_status = NATS_OK;
    if (s != NATS_OK) {
        for (size_t i = 0; i < amid->n_servers; i++)
            if (K.srv[i].in_job) {
                K.srv[i].list_status = s;
                snprintf(K.srv[i].list_err, sizeof K.srv[i].list_err, "%s", err);
            }
        return;
    }
    for (size_t i = 0; i < amid->n_servers; i++)
        if (K.srv[i].in_job)
            list_keys(i, K.srv[i].purge_in_job);
}

/* ------------------------------------------------------------ the loop */

/* The JSON a key holds: the object as GET /v1/servers/S/state shows it,
 * but without the lists of its children, which have keys of their own
 * (a queue's members and callers) or say where they are (a channel's
 * BridgeId): a member's change does not rewrite its queue. */
static char *object_value(ami_state_kind kind, const ami_state_object *o, size_t *len)
{
    char *txt;
    size_t n;
    if (ami_state_object_to_json(o, &txt, &n) != 0)
        return NULL;
    if (kind != AMI_STATE_BRIDGE && kind != AMI_STATE_QUEUE) {
        *len = n;
        return txt;
    }
    json_t *j = json_loadb(txt, n, 0, NULL);
    free(txt);
    if (!j)
        return NULL;
    json_object_del(j, kind == AMI_STATE_BRIDGE ? "Channels" : "members");
    json_object_del(j, "callers");
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (out)
        *len = strlen(out);
    return out;
}

/* The object whose key this is, or NULL when the key is no object's. */
static const ami_state_object *key_owner(amid_server *s, const char *key, ami_state_kind *kind)
{
    static char id[KV_ID_MAX], again[AMID_KV_KEY_MAX + 1];
    int k = amid_kv_key_object(s->conf->name, key, id, sizeof id);
    if (k < 0 || !s->st)
        return NULL;
    const ami_state_object *o = ami_state_find(s->st, (ami_state_kind)k, id);
    /* Only under its own key: a key that decodes to the id another way
     * (a lower-case escape, an unneeded one) is a stale key. */
    if (!o || amid_kv_object_key(s->conf->name, (ami_state_kind)k, o, again, sizeof again) != 0 ||
        strcmp(again, key))
        return NULL;
    *kind = (ami_state_kind)k;
    return o;
}

/* Writes one key: the owner's JSON, or a delete. 0, or -1 when the
 * write failed (a reconcile is then owed). */
static int send_key(amid_server *s, const char *key)
{
    kv_srv *ks = &K.srv[s->index];
    ami_state_kind kind = AMI_STATE_CHANNEL;
    const ami_state_object *o = key_owner(s, key, &kind);
    char *val = NULL;
    size_t len = 0;
    if (o && !(val = object_value(kind, o, &len))) {
        want_reconcile(s, "out of memory", 1);
        return -1;
    }
    char subject[AMID_KV_KEY_MAX + 80];
    snprintf(subject, sizeof subject, "$KV.%s.%s", amid->cfg.nats.kv_bucket, key);
    natsMsg *msg = NULL;
    natsStatus st = natsMsg_Create(&msg, subject, NULL, val, (int)len);
    free(val);
    if (st == NATS_OK && !o)
        st = natsMsgHeader_Set(msg, "KV-Operation", "DEL");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = amid->cfg.nats.ack_timeout_ms;
    if (st == NATS_OK)
        st = js_PublishMsgAsync(ks->js, &msg, &po);
    natsMsg_Destroy(msg); /* NULL once libnats took it */
    if (st != NATS_OK) {
        want_reconcile(s, natsStatus_GetText(st), 1);
        return -1;
    }
    ks->js_used = 1;
    if (!ks->inflight++)
        ks->progress_ms = amid_now_ms();
    if (o)
        ks->puts++;
    else
        ks->deletes++;
    return 0;
}

/* Sends dirty and reconcile keys, alternately, while the window has
 * room. A server owed a reconcile sends nothing until its job has
 * started: its writes in flight land first, so the listing sees them. */
static void pump(amid_server *s)
{
    kv_srv *ks = &K.srv[s->index];
    if (!K.on || K.stopping || !amid_nats_usable() || !ks->js || (ks->want && !ks->in_job) ||
        amid_now_ms() < ks->retry_at_ms)
        return;
    uint64_t cap = (uint64_t)amid->cfg.nats.max_inflight;
    while (ks->inflight < cap) {
        int have_rec = ks->rec_i < ks->rec_n;
        if (!ks->dirty.head && !have_rec)
            break;
        int from_rec = have_rec && (ks->turn || !ks->dirty.head);
        ks->turn = !ks->turn;
        int r;
        if (from_rec) {
            char *key = ks->rec[ks->rec_i];
            ks->rec[ks->rec_i++] = NULL;
            r = send_key(s, key);
            free(key);
            if (ks->rec_i == ks->rec_n)
                drop_rec(ks);
        } else {
            pkey *k = pset_pop(&ks->dirty);
            r = send_key(s, k->key);
            free(k);
        }
        if (r != 0)
            break;
    }
}

static void job_done(uv_work_t *w, int status);

/* Starts the listing job for every server owed a reconcile whose writes
 * have all been acknowledged. One job at a time. */
static void maybe_start_job(void)
{
    if (!K.on || K.stopping || K.working || !amid_nats_usable() || !K.kv)
        return;
    uint64_t now = amid_now_ms();
    int any = 0;
    for (size_t i = 0; i < amid->n_servers; i++) {
        kv_srv *ks = &K.srv[i];
        if (ks->want && !ks->inflight && now >= ks->retry_at_ms) {
            /* Every write sent has landed, so the listing sees it, and
             * the reconcile writes every key that is dirty now: what
             * waits is dropped. Changes from here on are marked again
             * (one removed before the reconcile is in may have been put
             * after the listing). */
            pset_clear(&ks->dirty);
            drop_rec(ks);
            ks->want = 0;
            ks->in_job = 1;
            ks->listed = NULL;
            ks->listed_n = 0;
            ks->listed_more = 0;
            ks->list_status = NATS_OK;
            ks->purge_in_job = now >= ks->purge_at_ms;
            uint64_t every = (uint64_t)amid->cfg.nats.kv_delete_markers_s * 1000;
            if (ks->purge_in_job)
                ks->purge_at_ms = now + (every < KV_PURGE_EVERY_MAX ? every : KV_PURGE_EVERY_MAX);
            any = 1;
        }
    }
    if (!any)
        return;
    K.working = 1;
    uv_queue_work(amid->loop, &K.work, job_work, job_done);
}

/* Appends a key to the reconcile list; -1 when out of memory. */
static int rec_add(kv_srv *ks, size_t *cap, char *key)
{
    if (!key)
        return -1;
    if (ks->rec_n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        char **nv = realloc(ks->rec, nc * sizeof *nv);
        if (!nv) {
            free(key);
            return -1;
        }
        ks->rec = nv;
        *cap = nc;
    }
    ks->rec[ks->rec_n++] = key;
    return 0;
}

/* The listing is in: the reconcile's keys are every listed key that is no
 * object's (to delete) and every object's key (to put). */
static void reconcile(amid_server *s)
{
    kv_srv *ks = &K.srv[s->index];
    char key[AMID_KV_KEY_MAX + 1];
    size_t cap = 0, stale = 0, objects = 0;
    int oom = 0;
    ami_state_kind kind;
    drop_rec(ks);
    for (size_t i = 0; i < ks->listed_n; i++) {
        char *k = ks->listed[i];
        ks->listed[i] = NULL;
        if (key_owner(s, k, &kind)) {
            free(k); /* put below */
            continue;
        }
        if (rec_add(ks, &cap, k) != 0)
            oom = 1;
        else
            stale++;
    }
    for (int kd = 0; kd < AMI_STATE_KIND_COUNT && s->st; kd++) {
        size_t cur = 0;
        for (const ami_state_object *o; (o = ami_state_next(s->st, (ami_state_kind)kd, &cur));) {
            if (amid_kv_object_key(s->conf->name, (ami_state_kind)kd, o, key, sizeof key) != 0) {
                ks->skipped++;
                continue;
            }
            if (rec_add(ks, &cap, strdup(key)) != 0)
                oom = 1;
            else
                objects++;
        }
    }
    ks->reconciles++;
    ks->backoff_ms = 0;
    amid_info("nats kv reconcile", "server=%s bucket=%s listed=%zu stale=%zu objects=%zu",
              s->conf->name, amid->cfg.nats.kv_bucket, ks->listed_n, stale, objects);
    if (oom)
        want_reconcile(s, "out of memory", 1);
    else if (ks->listed_more)
        want_reconcile(s, "more keys than one reconcile reads", 0);
}

static void job_done(uv_work_t *w, int status)
{
    (void)w;
    K.working = 0;
    if (!K.stopping && K.purge_status != NATS_OK)
        amid_warn("nats kv: purging old delete markers failed, retried later", "bucket=%s error=%s",
                  amid->cfg.nats.kv_bucket, natsStatus_GetText(K.purge_status));
    for (size_t i = 0; i < amid->n_servers; i++) {
        kv_srv *ks = &K.srv[i];
        amid_server *s = &amid->servers[i];
        if (!ks->in_job)
            continue;
        ks->in_job = 0;
        if (!K.stopping && (status != 0 || ks->list_status != NATS_OK)) {
            char m[200];
            if (amid_nats_usable())
                want_reconcile(s, amid_log_clean(m, sizeof m, ks->list_err), 1);
            ks->want = 1;
        } else if (!K.stopping && !amid_nats_usable())
            ks->want = 1; /* the connection went meanwhile: again on the new one */
        else if (!K.stopping)
            reconcile(s);
        free_strings(ks->listed, ks->listed_n);
        ks->listed = NULL;
        ks->listed_n = 0;
    }
    if (K.stopping) {
        amid_nats_job_done();
        return;
    }
    for (size_t i = 0; i < amid->n_servers; i++)
        pump(&amid->servers[i]);
    maybe_start_job();
}

/* Acknowledgements from libnats's threads. */
static void on_async(uv_async_t *h)
{
    (void)h;
    uint64_t now = amid_now_ms();
    for (size_t i = 0; i < amid->n_servers; i++) {
        kv_srv *ks = &K.srv[i];
        char why[160];
        pthread_mutex_lock(&K.mu);
        uint64_t ok = K.acks_ok[i], bad = K.acks_err[i];
        K.acks_ok[i] = K.acks_err[i] = 0;
        snprintf(why, sizeof why, "%s", K.last_err);
        pthread_mutex_unlock(&K.mu);
        if (!ok && !bad)
            continue;
        /* Late acknowledgements of a dropped window may come: clamp. */
        ks->inflight = ok + bad >= ks->inflight ? 0 : ks->inflight - ok - bad;
        ks->progress_ms = now;
        if (bad && !K.stopping) {
            char m[200];
            want_reconcile(&amid->servers[i], amid_log_clean(m, sizeof m, why), 1);
        }
    }
    if (K.stopping)
        return;
    for (size_t i = 0; i < amid->n_servers; i++)
        pump(&amid->servers[i]);
    maybe_start_job();
}

/* Forgets the writes in flight: their acknowledgements no longer count. */
static void drop_window(kv_srv *ks)
{
    amid_nats_drop_pending(ks->js, ks->js_used);
    ks->inflight = 0;
}

static void on_timer(uv_timer_t *t)
{
    (void)t;
    uint64_t now = amid_now_ms();
    if (K.stopping)
        return;
    int usable = amid_nats_usable();
    for (size_t i = 0; i < amid->n_servers; i++) {
        kv_srv *ks = &K.srv[i];
        /* libnats times a write out at ack_timeout; this is the backstop. */
        if (usable && ks->inflight &&
            now > ks->progress_ms + 2 * (uint64_t)amid->cfg.nats.ack_timeout_ms + 1000) {
            drop_window(ks);
            want_reconcile(&amid->servers[i], "acknowledgements overdue", 1);
        }
        /* The purge of old delete markers rides on a reconcile's listing. */
        if (usable && now >= ks->purge_at_ms && !ks->in_job)
            ks->want = 1;
        pump(&amid->servers[i]);
    }
    maybe_start_job();
}

/* ----------------------------------------------------------- hooks */

void amid_nats_kv_changed(amid_server *s, ami_state_kind kind, ami_state_change change,
                          const ami_state_object *old, const ami_state_object *now)
{
    if (!K.on || K.stopping)
        return;
    kv_srv *ks = &K.srv[s->index];
    if (!amid_nats_usable()) {
        ks->want = 1; /* the reconcile on the next connection writes it */
        return;
    }
    if (ks->want && !ks->in_job)
        return; /* the coming reconcile covers it (see maybe_start_job) */
    char key[2][AMID_KV_KEY_MAX + 1];
    const ami_state_object *obj[2] = {now ? now : old, change == AMI_STATE_CHANGED ? old : NULL};
    for (int k = 0; k < 2; k++) {
        if (!obj[k])
            continue;
        if (amid_kv_object_key(s->conf->name, kind, obj[k], key[k], sizeof key[k]) != 0) {
            ks->skipped++;
            if (!ks->warned_skip) {
                char m[128];
                ks->warned_skip = 1;
                amid_warn("nats kv: an object has no key (id too long or malformed); not in the "
                          "bucket, counted in amid_nats_kv_skipped_total",
                          "server=%s id=\"%s\"", s->conf->name,
                          amid_log_clean(m, sizeof m, ami_state_object_id(obj[k])));
            }
            continue;
        }
        if (k == 1 && !strcmp(key[0], key[1]))
            continue; /* the usual case: a change keeps the key */
        if (ks->dirty.count >= amid->cfg.nats.kv_max_pending) {
            if (!ks->want)
                amid_warn("nats kv: too many keys waiting, full reconcile instead",
                          "server=%s kv_max_pending=%zu", s->conf->name,
                          amid->cfg.nats.kv_max_pending);
            ks->overflows++;
            pset_clear(&ks->dirty);
            want_reconcile(s, "kv_max_pending", 0);
        }
        if (pset_add(&ks->dirty, key[k]) < 0)
            want_reconcile(s, "out of memory", 1);
    }
    uv_async_send(&K.async); /* write on the next turn of the loop */
}

void amid_nats_kv_resynced(amid_server *s)
{
    if (!K.on || K.stopping)
        return;
    K.srv[s->index].want = 1;
    maybe_start_job();
}

void amid_nats_kv_ready(void)
{
    if (!K.on)
        return;
    amid_info("nats kv ready", "bucket=%s", amid->cfg.nats.kv_bucket);
    for (size_t i = 0; i < amid->n_servers; i++) {
        K.srv[i].want = 1;
        K.srv[i].retry_at_ms = 0;
    }
    maybe_start_job();
}

/* The connection closed: what was queued or in flight is covered by the
 * reconcile on the next one. */
void amid_nats_kv_lost(void)
{
    if (!K.on)
        return;
    for (size_t i = 0; i < amid->n_servers; i++) {
        kv_srv *ks = &K.srv[i];
        drop_window(ks);
        pset_clear(&ks->dirty);
        drop_rec(ks);
        ks->want = 1;
    }
}

int amid_nats_kv_busy(void)
{
    return K.on && K.working;
}

int amid_nats_kv_idle(void)
{
    if (!K.on)
        return 1;
    for (size_t i = 0; i < amid->n_servers; i++)
        if (K.srv[i].dirty.count || K.srv[i].inflight)
            return 0;
    return 1;
}

int amid_nats_kv_stats_get(size_t i, amid_nats_kv_stats *out)
{
    if (!K.on || i >= amid->n_servers)
        return -1;
    kv_srv *ks = &K.srv[i];
    out->puts = ks->puts;
    out->deletes = ks->deletes;
    out->pending = ks->dirty.count + (ks->rec_n - ks->rec_i);
    out->inflight = ks->inflight;
    out->reconciles = ks->reconciles;
    out->errors = ks->errors;
    out->overflows = ks->overflows;
    out->skipped = ks->skipped;
    out->reconcile_wanted = ks->want || ks->in_job;
    return 0;
}

int amid_nats_kv_start(void)
{
    const char *b = amid->cfg.nats.kv_bucket;
    if (!b || !*b)
        return 0;
    K.srv = calloc(amid->n_servers, sizeof *K.srv);
    K.acks_ok = calloc(amid->n_servers, sizeof *K.acks_ok);
    K.acks_err = calloc(amid->n_servers, sizeof *K.acks_err);
    if (!K.srv || !K.acks_ok || !K.acks_err)
        return -1;
    pthread_mutex_init(&K.mu, NULL);
    uv_async_init(amid->loop, &K.async, on_async);
    uv_timer_init(amid->loop, &K.timer);
    uv_timer_start(&K.timer, on_timer, 250, 250);
    K.on = 1;
    return 0;
}

void amid_nats_kv_stop(void)
{
    if (!K.on || K.stopping)
        return;
    K.stopping = 1;
    uv_timer_stop(&K.timer);
    uv_close((uv_handle_t *)&K.timer, NULL);
}

void amid_nats_kv_close_handles(void)
{
    if (!K.on)
        return;
    pthread_mutex_lock(&K.mu);
    K.loop_gone = 1;
    uv_close((uv_handle_t *)&K.async, NULL);
    pthread_mutex_unlock(&K.mu);
}

void amid_nats_kv_free(int threads_left)
{
    if (!K.srv)
        return;
    for (size_t i = 0; i < amid->n_servers; i++) {
        pset_clear(&K.srv[i].dirty);
        drop_rec(&K.srv[i]);
    }
    free(K.srv);
    free(K.acks_ok);
    free(K.acks_err);
    if (K.on && !threads_left)
        pthread_mutex_destroy(&K.mu);
    if (threads_left) {
        /* A late on_kv_ack still locks K.mu and reads loop_gone. */
        K.srv = NULL;
        K.acks_ok = K.acks_err = NULL;
        K.on = 0;
        return;
    }
    memset(&K, 0, sizeof K);
}
