/*
 * Internal definitions of the live-state store (src/state/). Never
 * installed.
 *
 * Layout. Every object is a node (struct ami_state_object) that never moves
 * while the object lives, so indexes and parent/child links point at nodes;
 * its headers live in one immutable allocation (st_blob) that a change
 * replaces whole: the old blob is the `old` view of a CHANGED notification,
 * freed once the callback returned.
 */
#ifndef AMI_STATE_INTERNAL_H
#define AMI_STATE_INTERNAL_H

#include <ami/state.h>

#include "internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ST_DEFAULT_MAX_OBJECTS 1000000u
#define ST_DEFAULT_MAX_BYTES   8192u
/* Headers one patch can carry; events have fewer than this many that matter. */
#define ST_PATCH_MAX 96
/* The BridgeInfo follow-ups of one resync (tokens keep 16 bits for them). */
#define ST_MAX_BRIDGEINFO 60000u
/* Spare data bytes per blob, so a value that grows can change in place. */
#define ST_SLACK 32u

typedef struct st_hdr {
    uint32_t koff, klen, voff, vlen;
} st_hdr;

/* One object's headers: h[n], then the id, then keys and values, each NUL-terminated. */
typedef struct st_blob {
    uint32_t n;
    uint32_t id_len;
    uint32_t bytes; /* the whole allocation */
    uint32_t used;  /* data bytes in use (the rest is slack for in-place updates) */
    st_hdr h[];
} st_blob;

static inline char *st_blob_data(const st_blob *b)
{
    return (char *)&b->h[b->n];
}

typedef struct st_call st_call;

struct ami_state_object {
    st_blob *blob;
    uint8_t kind;
    uint8_t in_index;   /* linked into the id index and kind list */
    uint32_t hash;      /* of kind and id */
    uint32_t name_hash; /* channels: of Channel */
    uint64_t created, answered;
    uint64_t touched;              /* event sequence number of the last event that changed it */
    uint64_t seen;                 /* stamp of the last list that showed it */
    ami_state_object *hnext;       /* id index chain */
    ami_state_object *nnext;       /* channels: name index chain */
    ami_state_object *prev, *next; /* kind list, insertion order */
    ami_state_object *parent;      /* channel: bridge; member, caller: queue */
    ami_state_object *sprev, *snext;
    ami_state_object *first[2],
        *last[2];  /* bridge: [0] channels; queue: [0] members, [1] callers */
    st_call *call; /* channels: their Linkedid group */
    ami_state_object *cprev, *cnext;
};

struct st_call {
    st_call *hnext;
    st_call *prev, *next;
    ami_state_object *first, *last;
    size_t count;
    uint32_t hash;
    uint32_t len;
    char linkedid[];
};

typedef struct st_kv {
    const char *k;
    const char *v; /* NULL: delete the key */
    uint32_t kl, vl;
} st_kv;

typedef struct st_patch {
    st_kv kv[ST_PATCH_MAX];
    size_t n;
} st_patch;

typedef struct st_tomb {
    struct st_tomb *next;
    uint64_t seq;
    uint32_t hash;
    uint8_t kind;
    uint32_t len;
    char id[];
} st_tomb;

/* The lists of a resync. */
enum { ST_L_CHANNELS = 0, ST_L_BRIDGES, ST_L_QUEUES, ST_L_PARKED, ST_L_DEVICES, ST_L_COUNT };
enum { ST_LS_TODO = 0, ST_LS_SENT, ST_LS_DONE, ST_LS_FAILED };

typedef struct st_list {
    uint8_t status;
    uint64_t sent_seq;
} st_list;

typedef struct st_binfo {
    char *id; /* BridgeUniqueid */
    uint8_t status;
    uint64_t sent_seq;
} st_binfo;

struct ami_state {
    ami_state_change_cb cb;
    void *cb_data;
    size_t max_objects, max_bytes;
    uint64_t now;
    int in_cb;
    int in_event; /* applying an event (not a list): marks objects touched */

    /* id index (all kinds) and channel-name index */
    ami_state_object **idx;
    size_t idx_mask;
    ami_state_object **names;
    size_t names_mask;
    size_t count[AMI_STATE_KIND_COUNT];
    size_t total;
    ami_state_object *head[AMI_STATE_KIND_COUNT], *tail[AMI_STATE_KIND_COUNT];

    /* calls */
    st_call **calls;
    size_t calls_mask;
    size_t call_count;
    st_call *call_head, *call_tail;

    /* resync */
    uint64_t seq;   /* events that changed the store */
    uint64_t stamp; /* list instances */
    uint32_t epoch;
    int resyncing;
    size_t inflight; /* lists handed out whose result is not in: tombstones matter only then */
    int synced;
    st_list lists[ST_L_COUNT];
    st_binfo *binfo;
    size_t binfo_count;
    int binfo_known; /* BridgeList's result is in */
    st_tomb **tombs;
    size_t tombs_mask;
    size_t tomb_count;

    ami_state_stats stats;
};

/* Equality of short byte strings, inline: the hot paths compare header
 * names and values of a few bytes, where a libc call costs more than the
 * compare. */
static inline bool st_eq(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    while (n >= 8) {
        uint64_t u, v;
        memcpy(&u, x, 8);
        memcpy(&v, y, 8);
        if (u != v)
            return false;
        x += 8;
        y += 8;
        n -= 8;
    }
    while (n--) {
        if (*x++ != *y++)
            return false;
    }
    return true;
}

/* Combine two results: an error wins, else 1 when either changed the store. */
static inline int st_rc(int a, int b)
{
    return a < 0 ? a : b < 0 ? b : (a | b);
}

/* ---- store.c: objects, indexes, patches, notifications */
uint32_t ami__st_hash(const char *s, size_t n, uint32_t seed);
ami_state_object *ami__st_find(const ami_state *st, ami_state_kind kind, const char *id,
                               size_t len);
ami_state_object *ami__st_find_name(const ami_state *st, const char *name, size_t len);
/* Value of `key` (exact case, as the store writes keys) with its length, or NULL. */
const char *ami__st_value(const ami_state_object *o, const char *key, size_t *len);
void ami__st_patch_add(st_patch *p, const char *k, size_t kl, const char *v, size_t vl);
void ami__st_patch_adds(st_patch *p, const char *k, const char *v, size_t vl);
/*
 * Create (when absent and `create`) or merge `p` into the object (kind, id).
 * *out is the node (NULL when absent and not created, or refused). Returns
 * 1 when the store changed, 0 when not, AMI_ERR_NOMEM.
 */
int ami__st_upsert(ami_state *st, ami_state_kind kind, const char *id, size_t id_len,
                   const st_patch *p, bool create, ami_state_object **out);
/* Merge `p` into an existing node. 1 changed, 0 not, AMI_ERR_NOMEM. */
int ami__st_update(ami_state *st, ami_state_object *o, const st_patch *p);
/* Remove an object and its children (members, callers), notifying each. */
void ami__st_remove(ami_state *st, ami_state_object *o);
/* Link a child under a parent (slot 0 or 1); unlink. Callers sorted by the caller. */
void ami__st_link_child(ami_state_object *parent, int slot, ami_state_object *child,
                        ami_state_object *after);
void ami__st_unlink_child(ami_state_object *child);
/* Channel helpers (channels.c keeps the rules, store.c the indexes). */
int ami__st_channel_set_bridge(ami_state *st, ami_state_object *ch, ami_state_object *bridge);
void ami__st_record_tomb(ami_state *st, ami_state_kind kind, const char *id, size_t len);
bool ami__st_is_tomb(const ami_state *st, ami_state_kind kind, const char *id, size_t len,
                     uint64_t after_seq);
void ami__st_clear_tombs(ami_state *st);
/* Reindex a channel after its Channel or Linkedid header changed. */
int ami__st_channel_reindex(ami_state *st, ami_state_object *ch);

/* ---- channels.c */
/* Collect the channel snapshot headers of `prefix` ("" for the event's
 * own channel, "Dest", "Transferee", ...). Returns the Uniqueid (NULL when
 * absent), its length in *uid_len. */
const char *ami__st_channel_fields(const ami_packet *ev, const char *prefix, st_patch *p,
                                   size_t *uid_len);
/* Apply the snapshot of `prefix` to that channel; create when `create`.
 * Returns the channel (NULL when unknown and not created) and sets *rc. */
ami_state_object *ami__st_channel_refresh(ami_state *st, const ami_packet *ev, const char *prefix,
                                          bool create, st_patch *extra, int *rc);
int ami__st_channel_event(ami_state *st, int what, const ami_packet *ev);
void ami__st_remove_channel(ami_state *st, ami_state_object *ch);

/* ---- bridges.c, queues.c, parking.c, devices.c */
int ami__st_bridge_event(ami_state *st, int what, const ami_packet *ev);
ami_state_object *ami__st_ensure_bridge(ami_state *st, const char *id, size_t len, int *rc);
int ami__st_bridge_info_channel(ami_state *st, const ami_packet *ev, const char *bridge_id);
int ami__st_queue_event(ami_state *st, int what, const ami_packet *ev);
int ami__st_parking_event(ami_state *st, int what, const ami_packet *ev);
int ami__st_device_event(ami_state *st, int what, const ami_packet *ev);

/* ---- dispatch.c: event names */
enum {
    ST_EV_NONE = 0,
    /* channels */
    ST_EV_NEWCHANNEL,
    ST_EV_NEWSTATE,
    ST_EV_NEWCALLERID,
    ST_EV_NEWCONNECTEDLINE,
    ST_EV_NEWACCOUNTCODE,
    ST_EV_NEWEXTEN,
    ST_EV_RENAME,
    ST_EV_HANGUP,
    ST_EV_MOH_START,
    ST_EV_MOH_STOP,
    ST_EV_HOLD,
    ST_EV_UNHOLD,
    ST_EV_COREHOWCHANNEL,
    ST_EV_LOCALOPT,
    ST_EV_DIAL,
    ST_EV_ORIGINATE,
    /* bridges */
    ST_EV_BRIDGE_CREATE,
    ST_EV_BRIDGE_ENTER,
    ST_EV_BRIDGE_LEAVE,
    ST_EV_BRIDGE_DESTROY,
    ST_EV_BRIDGE_MERGE,
    ST_EV_BRIDGE_LISTITEM,
    ST_EV_BRIDGE_INFOCHANNEL,
    ST_EV_BRIDGE_INFOCOMPLETE,
    ST_EV_BLINDTRANSFER,
    ST_EV_ATTENDEDTRANSFER,
    /* queues */
    ST_EV_QUEUE_PARAMS,
    ST_EV_QUEUE_MEMBER,
    ST_EV_QUEUE_ENTRY,
    ST_EV_QUEUE_CALLER_JOIN,
    ST_EV_QUEUE_CALLER_LEAVE,
    ST_EV_QUEUE_CALLER_ABANDON,
    ST_EV_QUEUE_MEMBER_UPDATE, /* Status, Pause, Penalty, Ringinuse */
    ST_EV_QUEUE_MEMBER_ADDED,
    ST_EV_QUEUE_MEMBER_REMOVED,
    ST_EV_AGENT,
    /* parking */
    ST_EV_PARKED,
    ST_EV_UNPARKED, /* TimeOut, GiveUp, UnParkedCall */
    ST_EV_PARK_SWAP,
    /* devices */
    ST_EV_DEVICE
};
int ami__st_event_kind(const char *name);
/* Apply one event or list item; `as_event` marks the objects it touches. */
int ami__st_apply(ami_state *st, const ami_packet *ev, bool as_event);

/* ---- resync.c */
int ami__st_list_of(const char *action); /* ST_L_* or -1 */
/* Start a resync: new epoch, every list to do, tombstones cleared. */
void ami__st_resync_init(ami_state *st);

#endif /* AMI_STATE_INTERNAL_H */
