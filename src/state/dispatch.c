/*
 * Event names to handlers, and ami_state_feed_event(). Names are matched
 * exactly as Asterisk writes them (the captures are the reference); an
 * unknown name still refreshes a channel snapshot it carries, nothing else.
 */
#include "state_internal.h"

#include <string.h>

typedef struct ev_name {
    const char *name;
    uint8_t len;
    uint8_t what;
} ev_name;

/* Matched by length, then last byte, then the whole name: most names a
 * busy server sends (VarSet, Cdr, DialBegin...) fail on the first test. */
static const ev_name NAMES[] = {
    {"Hold", 4, ST_EV_HOLD},
    {"Hangup", 6, ST_EV_HANGUP},
    {"Rename", 6, ST_EV_RENAME},
    {"Unhold", 6, ST_EV_UNHOLD},
    {"DialEnd", 7, ST_EV_DIAL},
    {"Newexten", 8, ST_EV_NEWEXTEN},
    {"Newstate", 8, ST_EV_NEWSTATE},
    {"AgentDump", 9, ST_EV_AGENT},
    {"DialBegin", 9, ST_EV_DIAL},
    {"DialState", 9, ST_EV_DIAL},
    {"Newchannel", 10, ST_EV_NEWCHANNEL},
    {"ParkedCall", 10, ST_EV_PARKED},
    {"QueueEntry", 10, ST_EV_QUEUE_ENTRY},
    {"AgentCalled", 11, ST_EV_AGENT},
    {"BridgeEnter", 11, ST_EV_BRIDGE_ENTER},
    {"BridgeLeave", 11, ST_EV_BRIDGE_LEAVE},
    {"BridgeMerge", 11, ST_EV_BRIDGE_MERGE},
    {"NewCallerid", 11, ST_EV_NEWCALLERID},
    {"QueueMember", 11, ST_EV_QUEUE_MEMBER},
    {"QueueParams", 11, ST_EV_QUEUE_PARAMS},
    {"AgentConnect", 12, ST_EV_AGENT},
    {"BridgeCreate", 12, ST_EV_BRIDGE_CREATE},
    {"UnParkedCall", 12, ST_EV_UNPARKED},
    {"AgentComplete", 13, ST_EV_AGENT},
    {"BlindTransfer", 13, ST_EV_BLINDTRANSFER},
    {"BridgeDestroy", 13, ST_EV_BRIDGE_DESTROY},
    {"BridgeListItem", 14, ST_EV_BRIDGE_LISTITEM},
    {"NewAccountCode", 14, ST_EV_NEWACCOUNTCODE},
    {"ParkedCallSwap", 14, ST_EV_PARK_SWAP},
    {"CoreShowChannel", 15, ST_EV_COREHOWCHANNEL},
    {"MusicOnHoldStop", 15, ST_EV_MOH_STOP},
    {"QueueCallerJoin", 15, ST_EV_QUEUE_CALLER_JOIN},
    {"AttendedTransfer", 16, ST_EV_ATTENDEDTRANSFER},
    {"MusicOnHoldStart", 16, ST_EV_MOH_START},
    {"NewConnectedLine", 16, ST_EV_NEWCONNECTEDLINE},
    {"ParkedCallGiveUp", 16, ST_EV_UNPARKED},
    {"QueueCallerLeave", 16, ST_EV_QUEUE_CALLER_LEAVE},
    {"QueueMemberAdded", 16, ST_EV_QUEUE_MEMBER_ADDED},
    {"QueueMemberPause", 16, ST_EV_QUEUE_MEMBER_UPDATE},
    {"AgentRingNoAnswer", 17, ST_EV_AGENT},
    {"BridgeInfoChannel", 17, ST_EV_BRIDGE_INFOCHANNEL},
    {"DeviceStateChange", 17, ST_EV_DEVICE},
    {"OriginateResponse", 17, ST_EV_ORIGINATE},
    {"ParkedCallTimeOut", 17, ST_EV_UNPARKED},
    {"QueueMemberStatus", 17, ST_EV_QUEUE_MEMBER_UPDATE},
    {"BridgeInfoComplete", 18, ST_EV_BRIDGE_INFOCOMPLETE},
    {"QueueCallerAbandon", 18, ST_EV_QUEUE_CALLER_ABANDON},
    {"QueueMemberPenalty", 18, ST_EV_QUEUE_MEMBER_UPDATE},
    {"QueueMemberRemoved", 18, ST_EV_QUEUE_MEMBER_REMOVED},
    {"LocalOptimizationEnd", 20, ST_EV_LOCALOPT},
    {"QueueMemberRinginuse", 20, ST_EV_QUEUE_MEMBER_UPDATE},
    {"LocalOptimizationBegin", 22, ST_EV_LOCALOPT},
};

int ami__st_event_kind(const char *name)
{
    size_t len = strlen(name);
    if (len < 4 || len > 24)
        return ST_EV_NONE;
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
        const ev_name *e = &NAMES[i];
        if (e->len == len && e->name[len - 1] == name[len - 1] && memcmp(e->name, name, len) == 0)
            return e->what;
        if (e->len > len)
            break; /* sorted by length */
    }
    return ST_EV_NONE;
}

static int apply(ami_state *st, int what, const ami_packet *ev)
{
    if (what >= ST_EV_BRIDGE_CREATE && what <= ST_EV_ATTENDEDTRANSFER)
        return ami__st_bridge_event(st, what, ev);
    if (what >= ST_EV_QUEUE_PARAMS && what <= ST_EV_AGENT)
        return ami__st_queue_event(st, what, ev);
    if (what >= ST_EV_PARKED && what <= ST_EV_PARK_SWAP)
        return ami__st_parking_event(st, what, ev);
    if (what == ST_EV_DEVICE)
        return ami__st_device_event(st, what, ev);
    return ami__st_channel_event(st, what, ev);
}

int ami__st_apply(ami_state *st, const ami_packet *ev, bool as_event)
{
    const char *name = ami_packet_event_name(ev);
    if (!name)
        return 0;
    st->in_event = as_event;
    int rc = apply(st, ami__st_event_kind(name), ev);
    st->in_event = 0;
    return rc;
}

int ami_state_feed_event(ami_state *st, const ami_packet *event)
{
    if (!st || !event)
        return AMI_ERR_INVALID;
    if (st->in_cb)
        return AMI_ERR_STATE;
    if (ami_packet_kind_of(event) != AMI_PACKET_EVENT)
        return 0;
    st->stats.events++;
    st->seq++;
    int rc = ami__st_apply(st, event, true);
    if (rc > 0) {
        st->stats.applied++;
        return 1;
    }
    return rc;
}
