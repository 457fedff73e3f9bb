/*
 * Bridges by BridgeUniqueid, with their channels (a channel's BridgeId and
 * the bridge's child list always agree: ami__st_channel_set_bridge keeps
 * both). A bridge stays when it empties, as the server keeps it (the
 * parking lot's holding bridge), until BridgeDestroy or a list without it.
 */
#include "state_internal.h"

#include <string.h>

/* The Bridge… headers of `prefix` ("", "To", "From"). Returns the
 * BridgeUniqueid (NULL when absent). */
static const char *bridge_fields(const ami_packet *ev, const char *prefix, st_patch *p,
                                 size_t *id_len)
{
    size_t pl = strlen(prefix);
    const char *id = NULL;
    for (size_t i = 0; i < ev->count; i++) {
        const ami__header *h = &ev->headers[i];
        if (h->key_off >= AMI__KEY_BANNER || h->key_len < pl + 7)
            continue;
        const char *k = ev->base + h->key_off;
        if ((pl && memcmp(k, prefix, pl) != 0) || memcmp(k + pl, "Bridge", 6) != 0)
            continue;
        const char *v = ev->base + h->value_off;
        size_t kl = h->key_len - pl;
        if (kl == 14 && memcmp(k + pl, "BridgeUniqueid", 14) == 0) {
            if (id)
                continue;
            id = v;
            *id_len = h->value_len;
        }
        ami__st_patch_add(p, k + pl, kl, v, h->value_len);
    }
    return id && *id_len ? id : NULL;
}

ami_state_object *ami__st_ensure_bridge(ami_state *st, const char *id, size_t len, int *rc)
{
    ami_state_object *b = ami__st_find(st, AMI_STATE_BRIDGE, id, len);
    *rc = 0;
    if (b)
        return b;
    st_patch p;
    p.n = 0;
    ami__st_patch_adds(&p, "BridgeUniqueid", id, len);
    *rc = ami__st_upsert(st, AMI_STATE_BRIDGE, id, len, &p, true, &b);
    return b;
}

static ami_state_object *bridge_of(ami_state *st, const ami_packet *ev, const char *prefix,
                                   bool create, int *rc)
{
    st_patch p;
    p.n = 0;
    size_t len = 0;
    const char *id = bridge_fields(ev, prefix, &p, &len);
    *rc = 0;
    if (!id)
        return NULL;
    ami_state_object *b = NULL;
    *rc = ami__st_upsert(st, AMI_STATE_BRIDGE, id, len, &p, create, &b);
    return b;
}

int ami__st_bridge_info_channel(ami_state *st, const ami_packet *ev, const char *bridge_id)
{
    int rc;
    ami_state_object *ch = ami__st_channel_refresh(st, ev, "", true, NULL, &rc);
    if (!ch || !bridge_id)
        return rc;
    int r;
    ami_state_object *b = ami__st_ensure_bridge(st, bridge_id, strlen(bridge_id), &r);
    rc = st_rc(rc, r);
    if (b)
        rc = st_rc(rc, ami__st_channel_set_bridge(st, ch, b));
    return rc;
}

int ami__st_bridge_event(ami_state *st, int what, const ami_packet *ev)
{
    int rc = 0, r = 0;
    ami_state_object *b, *ch;
    switch (what) {
    case ST_EV_BRIDGE_CREATE:
    case ST_EV_BRIDGE_LISTITEM:
    case ST_EV_BRIDGE_INFOCOMPLETE:
        bridge_of(st, ev, "", true, &rc);
        return rc;
    case ST_EV_BRIDGE_ENTER: {
        /* A bridge made before we watched (a holding bridge) is entered
         * without a BridgeCreate: learn it here. */
        b = bridge_of(st, ev, "", true, &rc);
        ch = ami__st_channel_refresh(st, ev, "", false, NULL, &r);
        rc = st_rc(rc, r);
        if (!ch)
            st->stats.contradictions++;
        if (ch && b)
            rc = st_rc(rc, ami__st_channel_set_bridge(st, ch, b));
        return rc;
    }
    case ST_EV_BRIDGE_LEAVE:
        b = bridge_of(st, ev, "", true, &rc);
        ch = ami__st_channel_refresh(st, ev, "", false, NULL, &r);
        rc = st_rc(rc, r);
        if (!ch || !b || ch->parent != b) {
            st->stats.contradictions++;
            return rc;
        }
        return st_rc(rc, ami__st_channel_set_bridge(st, ch, NULL));
    case ST_EV_BRIDGE_DESTROY: {
        size_t len = 0;
        const char *id = ami_packet_getn(ev, "BridgeUniqueid", &len);
        b = id ? ami__st_find(st, AMI_STATE_BRIDGE, id, len) : NULL;
        if (!b) {
            st->stats.contradictions++;
            return 0;
        }
        ami__st_remove(st, b);
        return 1;
    }
    case ST_EV_BRIDGE_MERGE: {
        ami_state_object *to = bridge_of(st, ev, "To", true, &rc);
        size_t len = 0;
        const char *from_id = ami_packet_getn(ev, "FromBridgeUniqueid", &len);
        ami_state_object *from = from_id ? ami__st_find(st, AMI_STATE_BRIDGE, from_id, len) : NULL;
        if (!from || !to || from == to) {
            st->stats.contradictions++;
            return rc;
        }
        while (from->first[0]) {
            r = ami__st_channel_set_bridge(st, from->first[0], to);
            if (r < 0) {
                ami__st_unlink_child(from->first[0]);
                rc = r;
            }
        }
        ami__st_remove(st, from);
        return st_rc(rc, 1);
    }
    case ST_EV_BRIDGE_INFOCHANNEL:
        /* As an event (a recorded stream) it names no bridge: only the
         * channel's snapshot. The BridgeInfo result path links it. */
        ami__st_channel_refresh(st, ev, "", true, NULL, &rc);
        return rc;
    case ST_EV_BLINDTRANSFER:
        ami__st_channel_refresh(st, ev, "Transferer", false, NULL, &rc);
        ami__st_channel_refresh(st, ev, "Transferee", false, NULL, &r);
        return st_rc(rc, r);
    case ST_EV_ATTENDEDTRANSFER: {
        static const char *const who[] = {"OrigTransferer", "SecondTransferer", "TransferTarget",
                                          "Transferee"};
        for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
            ami__st_channel_refresh(st, ev, who[i], false, NULL, &r);
            rc = st_rc(rc, r);
        }
        return rc;
    }
    default:
        return 0;
    }
}
