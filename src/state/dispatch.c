/*
 * Event names to handlers, and ami_state_feed_event(). Names are matched
 * exactly as Asterisk writes them (the captures are the reference); an
 * unknown name still refreshes a channel snapshot it carries, nothing else.
 */
#include "state_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct ev_name {
    const char *name;
    int what;
} ev_name;

/* Sorted by strcmp for bsearch. */
static const ev_name NAMES[] = {
    {"AgentCalled", ST_EV_AGENT},
    {"AgentComplete", ST_EV_AGENT},
    {"AgentConnect", ST_EV_AGENT},
    {"AgentDump", ST_EV_AGENT},
    {"AgentRingNoAnswer", ST_EV_AGENT},
    {"AttendedTransfer", ST_EV_ATTENDEDTRANSFER},
    {"BlindTransfer", ST_EV_BLINDTRANSFER},
    {"BridgeCreate", ST_EV_BRIDGE_CREATE},
    {"BridgeDestroy", ST_EV_BRIDGE_DESTROY},
    {"BridgeEnter", ST_EV_BRIDGE_ENTER},
    {"BridgeInfoChannel", ST_EV_BRIDGE_INFOCHANNEL},
    {"BridgeInfoComplete", ST_EV_BRIDGE_INFOCOMPLETE},
    {"BridgeLeave", ST_EV_BRIDGE_LEAVE},
    {"BridgeListItem", ST_EV_BRIDGE_LISTITEM},
    {"BridgeMerge", ST_EV_BRIDGE_MERGE},
    {"CoreShowChannel", ST_EV_COREHOWCHANNEL},
    {"DeviceStateChange", ST_EV_DEVICE},
    {"DialBegin", ST_EV_DIAL},
    {"DialEnd", ST_EV_DIAL},
    {"DialState", ST_EV_DIAL},
    {"Hangup", ST_EV_HANGUP},
    {"Hold", ST_EV_HOLD},
    {"LocalOptimizationBegin", ST_EV_LOCALOPT},
    {"LocalOptimizationEnd", ST_EV_LOCALOPT},
    {"MusicOnHoldStart", ST_EV_MOH_START},
    {"MusicOnHoldStop", ST_EV_MOH_STOP},
    {"NewAccountCode", ST_EV_NEWACCOUNTCODE},
    {"NewCallerid", ST_EV_NEWCALLERID},
    {"NewConnectedLine", ST_EV_NEWCONNECTEDLINE},
    {"Newchannel", ST_EV_NEWCHANNEL},
    {"Newexten", ST_EV_NEWEXTEN},
    {"Newstate", ST_EV_NEWSTATE},
    {"ParkedCall", ST_EV_PARKED},
    {"ParkedCallGiveUp", ST_EV_UNPARKED},
    {"ParkedCallSwap", ST_EV_PARK_SWAP},
    {"ParkedCallTimeOut", ST_EV_UNPARKED},
    {"QueueCallerAbandon", ST_EV_QUEUE_CALLER_ABANDON},
    {"QueueCallerJoin", ST_EV_QUEUE_CALLER_JOIN},
    {"QueueCallerLeave", ST_EV_QUEUE_CALLER_LEAVE},
    {"QueueEntry", ST_EV_QUEUE_ENTRY},
    {"QueueMember", ST_EV_QUEUE_MEMBER},
    {"QueueMemberAdded", ST_EV_QUEUE_MEMBER_ADDED},
    {"QueueMemberPause", ST_EV_QUEUE_MEMBER_UPDATE},
    {"QueueMemberPenalty", ST_EV_QUEUE_MEMBER_UPDATE},
    {"QueueMemberRemoved", ST_EV_QUEUE_MEMBER_REMOVED},
    {"QueueMemberRinginuse", ST_EV_QUEUE_MEMBER_UPDATE},
    {"QueueMemberStatus", ST_EV_QUEUE_MEMBER_UPDATE},
    {"QueueParams", ST_EV_QUEUE_PARAMS},
    {"Rename", ST_EV_RENAME},
    {"UnParkedCall", ST_EV_UNPARKED},
    {"Unhold", ST_EV_UNHOLD},
};

static int cmp_name(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const ev_name *)elem)->name);
}

int ami__st_event_kind(const char *name)
{
    const ev_name *e =
        bsearch(name, NAMES, sizeof(NAMES) / sizeof(NAMES[0]), sizeof(NAMES[0]), cmp_name);
    return e ? e->what : ST_EV_NONE;
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
