/*
 * List, then watch, relist after a gap: the list actions a resync needs,
 * their results, and the reconcile.
 *
 * Ordering. The store numbers the events it is fed (st->seq). When a list
 * action is handed out, its number is the list's `sent_seq`: every event fed
 * after it is newer than nothing the list could show, so when the result
 * comes in,
 *   - an item whose object an event touched since sent_seq is skipped (the
 *     event's values win), and so is one an event removed since (a
 *     tombstone: the channel hung up mid-list never comes back);
 *   - other items are merged in (ADDED or CHANGED) and stamped as seen;
 *   - objects of the list's kinds that the list did not show and no event
 *     touched since sent_seq are REMOVED.
 * Each list reconciles its own kinds when its result arrives; the store is
 * synced when every list of the resync is in.
 *
 * Tokens: the resync's epoch in the high 16 bits, the list in the low 16
 * (ST_L_* for the five lists, ST_L_COUNT + i for the i-th BridgeInfo).
 */
#include "state_internal.h"

#include <string.h>

static const char *const LIST_ACTION[ST_L_COUNT] = {"CoreShowChannels", "BridgeList", "QueueStatus",
                                                    "ParkedCalls", "DeviceStateList"};

int ami__st_list_of(const char *action)
{
    for (int i = 0; i < ST_L_COUNT; i++) {
        if (strcmp(action, LIST_ACTION[i]) == 0)
            return i;
    }
    return -1;
}

static void free_binfo(ami_state *st)
{
    for (size_t i = 0; i < st->binfo_count; i++)
        ami__free(st->binfo[i].id);
    ami__free(st->binfo);
    st->binfo = NULL;
    st->binfo_count = 0;
    st->binfo_known = 0;
}

void ami__st_resync_init(ami_state *st)
{
    st->epoch = (st->epoch + 1) & 0xFFFFu;
    if (!st->epoch)
        st->epoch = 1;
    st->resyncing = 1;
    st->synced = 0;
    st->inflight = 0;
    memset(st->lists, 0, sizeof(st->lists));
    free_binfo(st);
    ami__st_clear_tombs(st);
}

int ami_state_resync_begin(ami_state *st)
{
    if (!st)
        return AMI_ERR_INVALID;
    if (st->in_cb)
        return AMI_ERR_STATE;
    ami__st_resync_init(st);
    return AMI_OK;
}

int ami_state_next_action(ami_state *st, ami_action **out, unsigned *token)
{
    if (!st || !out || !token)
        return AMI_ERR_INVALID;
    *out = NULL;
    if (st->in_cb)
        return AMI_ERR_STATE;
    if (!st->resyncing)
        return 0;
    ami_action *a = NULL;
    for (int i = 0; i < ST_L_COUNT; i++) {
        if (st->lists[i].status != ST_LS_TODO)
            continue;
        int rc = ami_action_create(&a, LIST_ACTION[i]);
        if (rc)
            return rc;
        st->lists[i].status = ST_LS_SENT;
        st->inflight++;
        st->lists[i].sent_seq = st->seq;
        *token = (st->epoch << 16) | (unsigned)i;
        *out = a;
        return 1;
    }
    if (!st->binfo_known)
        return 0;
    for (size_t i = 0; i < st->binfo_count; i++) {
        if (st->binfo[i].status != ST_LS_TODO)
            continue;
        int rc = ami_action_create(&a, "BridgeInfo");
        if (!rc)
            rc = ami_action_add(a, "BridgeUniqueid", st->binfo[i].id);
        if (rc) {
            ami_action_free(a);
            if (rc != AMI_ERR_NOMEM) { /* a hostile id we cannot send: skip it */
                st->binfo[i].status = ST_LS_DONE;
                continue;
            }
            return rc;
        }
        st->binfo[i].status = ST_LS_SENT;
        st->inflight++;
        st->binfo[i].sent_seq = st->seq;
        *token = (st->epoch << 16) | (unsigned)(ST_L_COUNT + i);
        *out = a;
        return 1;
    }
    return 0;
}

/* Should a list item for (kind, id) be taken? */
static bool take(const ami_state *st, ami_state_kind kind, const char *id, size_t len,
                 uint64_t sent_seq, ami_state_object **existing)
{
    ami_state_object *o = ami__st_find(st, kind, id, len);
    *existing = o;
    if (o)
        return o->touched <= sent_seq;
    return !ami__st_is_tomb(st, kind, id, len, sent_seq);
}

static void mark(ami_state *st, ami_state_kind kind, const char *id, size_t len, uint64_t stamp)
{
    ami_state_object *o = ami__st_find(st, kind, id, len);
    if (o)
        o->seen = stamp;
}

static size_t join(char *buf, size_t cap, const char *a, size_t al, const char *b, size_t bl)
{
    if (!a || !b || al + bl + 2 > cap)
        return 0;
    memcpy(buf, a, al);
    buf[al] = '/';
    memcpy(buf + al + 1, b, bl);
    buf[al + 1 + bl] = '\0';
    return al + 1 + bl;
}

/* The object id a list item names, and its kind; 0 when it names none. */
static size_t item_id(const ami_packet *ev, const char *name, char *buf, size_t cap,
                      ami_state_kind *kind)
{
    size_t al = 0, bl = 0;
    const char *a, *b;
    if (strcmp(name, "CoreShowChannel") == 0 || strcmp(name, "BridgeInfoChannel") == 0) {
        *kind = AMI_STATE_CHANNEL;
        a = ami_packet_getn(ev, "Uniqueid", &al);
    } else if (strcmp(name, "BridgeListItem") == 0 || strcmp(name, "BridgeInfoComplete") == 0) {
        *kind = AMI_STATE_BRIDGE;
        a = ami_packet_getn(ev, "BridgeUniqueid", &al);
    } else if (strcmp(name, "QueueParams") == 0) {
        *kind = AMI_STATE_QUEUE;
        a = ami_packet_getn(ev, "Queue", &al);
    } else if (strcmp(name, "QueueMember") == 0) {
        *kind = AMI_STATE_MEMBER;
        a = ami_packet_getn(ev, "Queue", &al);
        b = ami_packet_getn(ev, "Location", &bl);
        return join(buf, cap, a, al, b, bl);
    } else if (strcmp(name, "QueueEntry") == 0) {
        *kind = AMI_STATE_CALLER;
        a = ami_packet_getn(ev, "Queue", &al);
        b = ami_packet_getn(ev, "Uniqueid", &bl);
        return join(buf, cap, a, al, b, bl);
    } else if (strcmp(name, "ParkedCall") == 0) {
        *kind = AMI_STATE_PARKED;
        a = ami_packet_getn(ev, "Parkinglot", &al);
        b = ami_packet_getn(ev, "ParkingSpace", &bl);
        return join(buf, cap, a, al, b, bl);
    } else if (strcmp(name, "DeviceStateChange") == 0) {
        *kind = AMI_STATE_DEVICE;
        a = ami_packet_getn(ev, "Device", &al);
    } else {
        return 0;
    }
    if (!a || !al || al >= cap)
        return 0;
    memcpy(buf, a, al);
    buf[al] = '\0';
    return al;
}

/* Remove what the list did not show and no event touched since it was sent. */
static void sweep(ami_state *st, ami_state_kind kind, uint64_t stamp, uint64_t sent_seq)
{
    ami_state_object *o = st->head[kind];
    while (o) {
        ami_state_object *next = o->next;
        /* Removing one object never removes another of the same kind
         * (a queue's members and callers live in their own lists). */
        if (o->seen != stamp && o->touched <= sent_seq)
            ami__st_remove(st, o);
        o = next;
    }
}

static int add_binfo(ami_state *st, const char *id, size_t len)
{
    if (st->binfo_count >= ST_MAX_BRIDGEINFO)
        return 0; /* CoreShowChannel's BridgeId still gives the membership */
    if ((st->binfo_count & (st->binfo_count - 1)) == 0) {
        size_t cap = st->binfo_count ? st->binfo_count * 2 : 8;
        st_binfo *nb = ami__realloc(st->binfo, cap * sizeof(*nb));
        if (!nb)
            return AMI_ERR_NOMEM;
        st->binfo = nb;
    }
    char *copy = ami__strndup(id, len);
    if (!copy)
        return AMI_ERR_NOMEM;
    st->binfo[st->binfo_count].id = copy;
    st->binfo[st->binfo_count].status = ST_LS_TODO;
    st->binfo[st->binfo_count].sent_seq = 0;
    st->binfo_count++;
    return 0;
}

static int ingest(ami_state *st, int list, const char *bridge_id, const ami_result *r,
                  uint64_t sent_seq)
{
    uint64_t stamp = ++st->stamp;
    int rc = 0;
    char id[1024];
    size_t n = ami_result_event_count(r);
    for (size_t i = 0; i < n; i++) {
        const ami_packet *ev = ami_result_event(r, i);
        const char *name = ami_packet_event_name(ev);
        ami_state_kind kind;
        size_t len = name ? item_id(ev, name, id, sizeof id, &kind) : 0;
        if (!len)
            continue; /* the ...Complete event, or an item naming nothing */
        st->stats.list_items++;
        ami_state_object *o;
        if (take(st, kind, id, len, sent_seq, &o)) {
            int r2;
            if (list >= ST_L_COUNT && kind == AMI_STATE_CHANNEL)
                r2 = ami__st_bridge_info_channel(st, ev, bridge_id);
            else
                r2 = ami__st_apply(st, ev, false);
            rc = st_rc(rc, r2);
        }
        mark(st, kind, id, len, stamp);
        if (list == ST_L_BRIDGES) {
            int r3 = add_binfo(st, id, len);
            if (r3 < 0)
                rc = r3;
        }
    }
    switch (list) {
    case ST_L_CHANNELS:
        sweep(st, AMI_STATE_CHANNEL, stamp, sent_seq);
        break;
    case ST_L_BRIDGES:
        sweep(st, AMI_STATE_BRIDGE, stamp, sent_seq);
        st->binfo_known = 1;
        break;
    case ST_L_QUEUES:
        sweep(st, AMI_STATE_CALLER, stamp, sent_seq);
        sweep(st, AMI_STATE_MEMBER, stamp, sent_seq);
        sweep(st, AMI_STATE_QUEUE, stamp, sent_seq);
        break;
    case ST_L_PARKED:
        sweep(st, AMI_STATE_PARKED, stamp, sent_seq);
        break;
    case ST_L_DEVICES:
        sweep(st, AMI_STATE_DEVICE, stamp, sent_seq);
        break;
    default:
        break; /* BridgeInfo only adds what it shows */
    }
    return rc;
}

static void maybe_done(ami_state *st)
{
    for (int i = 0; i < ST_L_COUNT; i++) {
        if (st->lists[i].status != ST_LS_DONE)
            return;
    }
    for (size_t i = 0; i < st->binfo_count; i++) {
        if (st->binfo[i].status != ST_LS_DONE)
            return;
    }
    st->resyncing = 0;
    st->synced = 1;
    st->stats.resyncs++;
    free_binfo(st);
    ami__st_clear_tombs(st);
}

int ami_state_feed_result(ami_state *st, unsigned token, const ami_result *result)
{
    if (!st || !result)
        return AMI_ERR_INVALID;
    if (st->in_cb)
        return AMI_ERR_STATE;
    unsigned idx = token & 0xFFFFu;
    uint8_t *status;
    uint64_t sent_seq;
    const char *bridge_id = NULL;
    if (!st->resyncing || (token >> 16) != st->epoch) {
        st->stats.stale_results++;
        return AMI_ERR_INVALID;
    }
    if (idx < ST_L_COUNT) {
        status = &st->lists[idx].status;
        sent_seq = st->lists[idx].sent_seq;
    } else if (idx - ST_L_COUNT < st->binfo_count) {
        status = &st->binfo[idx - ST_L_COUNT].status;
        sent_seq = st->binfo[idx - ST_L_COUNT].sent_seq;
        bridge_id = st->binfo[idx - ST_L_COUNT].id;
    } else {
        st->stats.stale_results++;
        return AMI_ERR_INVALID;
    }
    if (*status != ST_LS_SENT) {
        st->stats.stale_results++;
        return AMI_ERR_INVALID;
    }
    int s = ami_result_status(result);
    /* The tombstones serve the lists in flight; with none left, none can
     * use them (a list sent later is newer than every one). Cleared after
     * this result is ingested. */
    st->inflight--;
    if (s != 0 && s != AMI_ERR_ACTION_FAILED) {
        if (!st->inflight)
            ami__st_clear_tombs(st);
        /* Timeout, disconnect, out of memory: this resync cannot finish. */
        *status = ST_LS_FAILED;
        return 0;
    }
    *status = ST_LS_DONE;
    /* Response: Error counts as an empty list (ParkedCalls without
     * res_parking, QueueStatus without app_queue); a BridgeInfo error means
     * the bridge went meanwhile, and its BridgeDestroy tells the rest. */
    int rc = 0;
    if (s == 0 || idx < ST_L_COUNT) {
        rc = ingest(st, (int)idx, bridge_id, result, sent_seq);
        /* `status` may point into a binfo array that grew: do not use it. */
    }
    if (!st->inflight)
        ami__st_clear_tombs(st);
    if (rc < 0) {
        st->synced = 0;
        return rc;
    }
    maybe_done(st);
    return 0;
}

int ami_state_is_synced(const ami_state *st)
{
    return st && st->synced && !st->resyncing;
}

uint64_t ami_state_generation(const ami_state *st)
{
    return st ? st->stats.resyncs : 0;
}
