/*
 * Channels: the snapshot every channel event carries (the Channel…
 * headers), plus what the store derives — Application/ApplicationData
 * (Newexten's Application/AppData, CoreShowChannel's own), BridgeId,
 * MusicOnHold (the class while music plays), OnHold (between Hold and
 * Unhold) — and the created/answered times.
 */
#include "state_internal.h"

#include <string.h>

/* The snapshot headers, in the order Asterisk writes them. */
static const char *const FIELDS[] = {"Channel",           "ChannelState", "ChannelStateDesc",
                                     "CallerIDNum",       "CallerIDName", "ConnectedLineNum",
                                     "ConnectedLineName", "Language",     "AccountCode",
                                     "Context",           "Exten",        "Priority",
                                     "Uniqueid",          "Linkedid"};
static const uint8_t FIELD_LEN[] = {7, 12, 16, 11, 12, 16, 17, 8, 11, 7, 5, 8, 8, 8};
enum { F_CHANNEL = 0, F_STATE = 1, F_UNIQUEID = 12 };

/* Index in FIELDS of key (exact case), or -1. A switch on the length keeps
 * this a couple of compares per header on the hot path. */
static int field_of(const char *k, size_t kl)
{
    /* Length and one distinguishing byte first; memcmp only to confirm. */
    int f;
    switch (kl) {
    case 5:
        f = 10;
        break;
    case 7:
        f = k[1] == 'h' ? 0 : 9;
        break;
    case 8:
        f = k[0] == 'U' ? 12 : k[0] == 'L' ? (k[1] == 'i' ? 13 : 7) : 11;
        break;
    case 11:
        f = k[0] == 'C' ? 3 : 8;
        break;
    case 12:
        f = k[1] == 'h' ? 1 : 4;
        break;
    case 16:
        f = k[1] == 'h' ? 2 : 5;
        break;
    case 17:
        f = 6;
        break;
    default:
        return -1;
    }
    return st_eq(k, FIELDS[f], kl) ? f : -1;
}

const char *ami__st_channel_fields(const ami_packet *ev, const char *prefix, st_patch *p,
                                   size_t *uid_len)
{
    size_t pl = strlen(prefix);
    const char *uid = NULL;
    bool state = false;
    for (size_t i = 0; i < ev->count; i++) {
        const ami__header *h = &ev->headers[i];
        if (h->key_off >= AMI__KEY_BANNER || h->key_len <= pl)
            continue;
        const char *k = ev->base + h->key_off;
        if (pl && memcmp(k, prefix, pl) != 0)
            continue;
        int f = field_of(k + pl, h->key_len - pl);
        if (f < 0)
            continue;
        const char *v = ev->base + h->value_off;
        if (f == F_UNIQUEID) {
            if (uid)
                continue; /* the first one counts */
            uid = v;
            *uid_len = h->value_len;
        }
        if (f == F_STATE)
            state = true;
        ami__st_patch_add(p, FIELDS[f], FIELD_LEN[f], v, h->value_len);
    }
    /* Without ChannelState it is not a snapshot (OriginateResponse, Cdr, ...). */
    return state ? uid : NULL;
}

ami_state_object *ami__st_channel_refresh(ami_state *st, const ami_packet *ev, const char *prefix,
                                          bool create, st_patch *extra, int *rc)
{
    st_patch p;
    p.n = 0;
    size_t ul = 0;
    const char *uid = ami__st_channel_fields(ev, prefix, &p, &ul);
    *rc = 0;
    if (!uid || !ul)
        return NULL;
    for (size_t i = 0; extra && i < extra->n; i++)
        ami__st_patch_add(&p, extra->kv[i].k, extra->kv[i].kl, extra->kv[i].v, extra->kv[i].vl);
    ami_state_object *o = NULL;
    *rc = ami__st_upsert(st, AMI_STATE_CHANNEL, uid, ul, &p, create, &o);
    if (o && !o->answered) {
        size_t vl = 0;
        const char *v = ami__st_value(o, "ChannelState", &vl);
        if (v && vl == 1 && v[0] == '6') /* AST_STATE_UP */
            o->answered = st->now ? st->now : 1;
    }
    return o;
}

void ami__st_remove_channel(ami_state *st, ami_state_object *ch)
{
    ami__st_remove(st, ch);
}

/*
 * The channel an event names, for events that need it to exist. Only
 * Newchannel and the lists create channels: Asterisk sends some events after
 * a channel's Hangup (a NewCallerid, in bridge_transfer), and creating from
 * those would leave a ghost for ever.
 */
static ami_state_object *named(ami_state *st, const ami_packet *ev, st_patch *extra, int *rc)
{
    ami_state_object *o = ami__st_channel_refresh(st, ev, "", false, extra, rc);
    if (!o)
        st->stats.contradictions++;
    return o;
}

static uint64_t duration_ms(const char *d)
{
    /* CoreShowChannel's Duration: HH:MM:SS */
    unsigned long h = 0, m = 0, s = 0;
    const char *p = d;
    int part = 0;
    unsigned long *cur = &h;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (*cur > 100000000ul)
                return 0;
            *cur = *cur * 10 + (unsigned long)(*p - '0');
        } else if (*p == ':' && part < 2) {
            part++;
            cur = part == 1 ? &m : &s;
        } else {
            return 0;
        }
    }
    if (part != 2)
        return 0;
    return ((uint64_t)h * 3600 + m * 60 + s) * 1000;
}

static int core_show_channel(ami_state *st, const ami_packet *ev)
{
    st_patch extra;
    extra.n = 0;
    size_t al = 0, dl = 0, bl = 0;
    const char *app = ami_packet_getn(ev, "Application", &al);
    const char *data = ami_packet_getn(ev, "ApplicationData", &dl);
    if (app)
        ami__st_patch_adds(&extra, "Application", app, al);
    if (data)
        ami__st_patch_adds(&extra, "ApplicationData", data, dl);
    int rc;
    size_t ul = 0;
    const char *uid = ami_packet_getn(ev, "Uniqueid", &ul);
    bool known = uid && ami__st_find(st, AMI_STATE_CHANNEL, uid, ul);
    ami_state_object *ch = ami__st_channel_refresh(st, ev, "", true, &extra, &rc);
    if (!ch)
        return rc;
    if (!known) {
        const char *d = ami_packet_get(ev, "Duration");
        uint64_t age = d ? duration_ms(d) : 0;
        if (st->now > age)
            ch->created = st->now - age;
    }
    const char *bid = ami_packet_getn(ev, "BridgeId", &bl);
    ami_state_object *br = NULL;
    if (bid && bl) {
        int r = 0;
        br = ami__st_ensure_bridge(st, bid, bl, &r);
        if (r < 0)
            return r;
        rc = st_rc(rc, r);
    }
    if (!bid && !br)
        return rc; /* an older CoreShowChannel without BridgeId says nothing */
    int r = ami__st_channel_set_bridge(st, ch, br);
    return st_rc(rc, r);
}

int ami__st_channel_event(ami_state *st, int what, const ami_packet *ev)
{
    st_patch extra;
    extra.n = 0;
    int rc = 0, r = 0;
    size_t vl = 0;
    const char *v;
    switch (what) {
    case ST_EV_NEWCHANNEL:
        ami__st_channel_refresh(st, ev, "", true, NULL, &rc);
        return rc;
    case ST_EV_NEWSTATE:
    case ST_EV_NEWCALLERID:
    case ST_EV_NEWCONNECTEDLINE:
    case ST_EV_NEWACCOUNTCODE:
        named(st, ev, NULL, &rc);
        return rc;
    case ST_EV_NEWEXTEN:
        if ((v = ami_packet_getn(ev, "Application", &vl)))
            ami__st_patch_adds(&extra, "Application", v, vl);
        if ((v = ami_packet_getn(ev, "AppData", &vl)))
            ami__st_patch_adds(&extra, "ApplicationData", v, vl);
        named(st, ev, &extra, &rc);
        return rc;
    case ST_EV_RENAME:
        if ((v = ami_packet_getn(ev, "Newname", &vl)))
            ami__st_patch_adds(&extra, "Channel", v, vl);
        if (!ami__st_channel_refresh(st, ev, "", false, &extra, &rc))
            st->stats.contradictions++;
        return rc;
    case ST_EV_HANGUP: {
        size_t ul = 0;
        const char *uid = ami_packet_getn(ev, "Uniqueid", &ul);
        ami_state_object *ch = uid ? ami__st_find(st, AMI_STATE_CHANNEL, uid, ul) : NULL;
        if (!ch) {
            st->stats.contradictions++;
            return 0;
        }
        ami__st_remove_channel(st, ch);
        return 1;
    }
    case ST_EV_MOH_START:
        v = ami_packet_getn(ev, "Class", &vl);
        ami__st_patch_adds(&extra, "MusicOnHold", v && vl ? v : "default",
                           v && vl ? vl : strlen("default"));
        named(st, ev, &extra, &rc);
        return rc;
    case ST_EV_MOH_STOP:
        ami__st_patch_adds(&extra, "MusicOnHold", NULL, 0);
        named(st, ev, &extra, &rc);
        return rc;
    case ST_EV_HOLD:
        ami__st_patch_adds(&extra, "OnHold", "Yes", 3);
        named(st, ev, &extra, &rc);
        return rc;
    case ST_EV_UNHOLD:
        ami__st_patch_adds(&extra, "OnHold", NULL, 0);
        named(st, ev, &extra, &rc);
        return rc;
    case ST_EV_COREHOWCHANNEL:
        return core_show_channel(st, ev);
    case ST_EV_LOCALOPT:
        ami__st_channel_refresh(st, ev, "LocalOne", false, NULL, &rc);
        ami__st_channel_refresh(st, ev, "LocalTwo", false, NULL, &r);
        return st_rc(rc, r);
    case ST_EV_ORIGINATE: {
        /* A channel originated to an application runs it without a Newexten. */
        size_t ul = 0;
        const char *uid = ami_packet_getn(ev, "Uniqueid", &ul);
        ami_state_object *ch = uid ? ami__st_find(st, AMI_STATE_CHANNEL, uid, ul) : NULL;
        if (!ch || !(v = ami_packet_getn(ev, "Application", &vl)) || !vl)
            return 0;
        ami__st_patch_adds(&extra, "Application", v, vl);
        v = ami_packet_getn(ev, "Data", &vl);
        ami__st_patch_adds(&extra, "ApplicationData", v ? v : "", v ? vl : 0);
        return ami__st_update(st, ch, &extra);
    }
    case ST_EV_DIAL:
        ami__st_channel_refresh(st, ev, "", false, NULL, &rc);
        ami__st_channel_refresh(st, ev, "Dest", false, NULL, &r);
        return st_rc(rc, r);
    default:
        /* Any other event that carries a channel snapshot refreshes a
         * channel we know (VarSet, DTMF, HangupRequest, ...). */
        ami__st_channel_refresh(st, ev, "", false, NULL, &rc);
        return rc;
    }
}
