/*
 * Parked calls by "Parkinglot/ParkingSpace": ParkedCall (the event, and
 * ParkedCalls' list items) adds or refreshes, ParkedCallTimeOut,
 * ParkedCallGiveUp and UnParkedCall remove, ParkedCallSwap puts a new
 * parkee in the same space. The parkee's channel snapshot is refreshed too.
 */
#include "state_internal.h"

#include <string.h>

#define ST_MAX_ID 1024

static void parked_fields(const ami_packet *ev, st_patch *p)
{
    for (size_t i = 0; i < ev->count; i++) {
        const ami__header *h = &ev->headers[i];
        if (h->key_off >= AMI__KEY_BANNER)
            continue;
        const char *k = ev->base + h->key_off;
        size_t kl = h->key_len;
        if ((kl == 5 && memcmp(k, "Event", 5) == 0) || (kl == 8 && memcmp(k, "ActionID", 8) == 0) ||
            (kl == 9 && memcmp(k, "Privilege", 9) == 0))
            continue;
        ami__st_patch_add(p, k, kl, ev->base + h->value_off, h->value_len);
    }
}

int ami__st_parking_event(ami_state *st, int what, const ami_packet *ev)
{
    size_t ll = 0, sl = 0;
    const char *lot = ami_packet_getn(ev, "Parkinglot", &ll);
    const char *space = ami_packet_getn(ev, "ParkingSpace", &sl);
    int rc = 0, r;
    ami__st_channel_refresh(st, ev, "Parkee", false, NULL, &rc);
    if (!lot || !space || !ll || !sl || ll + sl + 2 > ST_MAX_ID) {
        st->stats.contradictions++;
        return rc;
    }
    char id[ST_MAX_ID];
    memcpy(id, lot, ll);
    id[ll] = '/';
    memcpy(id + ll + 1, space, sl);
    size_t len = ll + 1 + sl;
    id[len] = '\0';
    ami_state_object *o = ami__st_find(st, AMI_STATE_PARKED, id, len);
    if (what == ST_EV_UNPARKED) {
        if (!o) {
            st->stats.contradictions++;
            return rc;
        }
        ami__st_remove(st, o);
        return st_rc(rc, 1);
    }
    st_patch p;
    p.n = 0;
    parked_fields(ev, &p);
    if (what == ST_EV_PARK_SWAP && !o)
        st->stats.contradictions++;
    r = ami__st_upsert(st, AMI_STATE_PARKED, id, len, &p, true, &o);
    return st_rc(rc, r);
}
