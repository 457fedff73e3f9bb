/*
 * Parking, as in park_hold.raw: one lot, "default", spaces 701-720,
 * timeout 45 s. Park moves a channel out of its bridge into the lot's
 * holding bridge (made by the first Park, kept with no channels for ever:
 * BridgeType parking, BridgeCreator Parking), with ParkedCall, a
 * park:7NN@parkedcalls device state and hold music. When the timeout
 * passes: ParkedCallTimeOut, and the parkee dials its parker back
 * (context park-dial). A parkee that hangs up gives ParkedCallGiveUp; one
 * retrieved by a call to Local/7NN@parkedcalls gives UnParkedCall.
 */
#include "pbx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOT_START   701
#define LOT_STOP    720
#define LOT_TIMEOUT 45

static void parked_event(sim *s, sim_buf *b, const sim_parked *pk, uint64_t now)
{
    sim_chan_headers(b, "Parkee", pk->chan);
    long dur = (long)((now - pk->parked_ms) / 1000u);
    long left = pk->timeout_s - dur;
    if (left < 0)
        left = 0;
    sim_hdr(b, "ParkerDialString", pk->dialstring);
    sim_buf_printf(b,
                   "Parkinglot: default\r\nParkingSpace: %d\r\nParkingTimeout: %ld\r\n"
                   "ParkingDuration: %ld\r\n",
                   pk->space, left, dur);
    (void)s;
}

static void broadcast_parked(sim *s, const char *name, const sim_parked *pk, const sim_chan *extra)
{
    sim_buf b = {0};
    sim_buf_printf(&b, "Event: %s\r\nPrivilege: call,all\r\n", name);
    parked_event(s, &b, pk, sim_now_ms());
    if (extra)
        sim_chan_headers(&b, "Retriever", extra);
    sim_buf_append(&b, "\r\n", 2);
    sim_broadcast(s, SIM_CALL, b.data, b.len);
    sim_buf_free(&b);
}

static void space_state(sim *s, int space, const char *state)
{
    char dev[64];
    snprintf(dev, sizeof dev, "park:%d@parkedcalls", space);
    sim_devstate_set(s, dev, state);
}

static sim_parked *by_chan(sim *s, const sim_chan *ch)
{
    for (sim_parked *pk = s->pbx->parked; pk; pk = pk->next)
        if (pk->chan == ch)
            return pk;
    return NULL;
}

/* Out of the lot (the holding bridge stays), hold music off. */
static void unpark(sim *s, sim_parked *pk)
{
    for (sim_parked **pp = &s->pbx->parked; *pp; pp = &(*pp)->next) {
        if (*pp == pk) {
            *pp = pk->next;
            break;
        }
    }
    sim_moh_stop(s, pk->chan);
    space_state(s, pk->space, "NOT_INUSE");
    /* Only out of the holding bridge: Bridge or Redirect may have moved
     * the parkee elsewhere meanwhile. */
    const sim_bridge *hb = s->pbx->park_bridge;
    if (hb && strcmp(pk->chan->bridge, hb->id) == 0)
        sim_bridge_remove(s, pk->chan);
    free(pk);
}

void sim_action_park(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *name = ami_packet_get(p, "Channel");
    const char *tch = ami_packet_get(p, "TimeoutChannel");
    const char *to = ami_packet_get(p, "Timeout");
    const char *lot = ami_packet_get(p, "Parkinglot");
    char msg[AMI_ACTION_MAX_LINE + 64];
    int timeout = LOT_TIMEOUT;
    if (!name || !*name) {
        sim_send_error(c, id, "Channel not specified");
        return;
    }
    if (to && *to) {
        int ms;
        if (sscanf(to, "%30d", &ms) != 1 || ms < 0) {
            sim_send_error(c, id, "Invalid Timeout value.");
            return;
        }
        if (ms > 0) /* milliseconds on the wire, whole seconds (at least 1) inside */
            timeout = ms / 1000 > 1 ? ms / 1000 : 1;
    }
    sim_chan *ch = sim_chan_find(s, name);
    if (!ch) {
        snprintf(msg, sizeof msg, "Channel does not exist: %s", name);
        sim_send_error(c, id, msg);
        return;
    }
    if (lot && *lot && strcmp(lot, "default") != 0) {
        sim_send_error(c, id, "Requested parking lot could not be found.");
        return;
    }
    if (by_chan(s, ch)) {
        sim_send_error(c, id, "Channel is already parked");
        return;
    }
    int space = LOT_START;
    for (; space <= LOT_STOP; space++) {
        const sim_parked *pk = s->pbx->parked;
        while (pk && pk->space != space)
            pk = pk->next;
        if (!pk)
            break;
    }
    if (space > LOT_STOP) {
        sim_send_error(c, id, "Parking lot is full");
        return;
    }
    /* Who the parkee calls back on timeout: TimeoutChannel, else the
     * party it was bridged with, else itself. */
    const sim_chan *back = NULL;
    if (tch && *tch)
        back = sim_chan_find(s, tch);
    if (!back)
        back = sim_bridge_peer(s, ch);
    if (!back)
        back = ch;
    sim_parked *pk = sim_xmalloc(sizeof *pk);
    memset(pk, 0, sizeof *pk);
    pk->chan = ch;
    pk->call = ch->call;
    pk->space = space;
    pk->timeout_s = timeout;
    if (tch && *tch && !sim_chan_find(s, tch)) {
        /* A dial string, not a live channel. */
        snprintf(pk->dialstring, sizeof pk->dialstring, "%s", tch);
    } else {
        sim_chan_device(back, pk->dialstring, sizeof pk->dialstring);
    }

    /* Asterisk 22's ack ends the message with a bare LF ("Park
     * successful\n" then the line's CRLF), as park_hold.raw shows. */
    sim_send_ack(c, id, "Park successful\n");
    if (!s->pbx->park_bridge)
        s->pbx->park_bridge = sim_bridge_new(s, "parking", 0);
    if (ch->bridge[0])
        sim_bridge_leave(s, ch);
    pk->parked_ms = sim_now_ms();
    pk->next = s->pbx->parked;
    s->pbx->parked = pk;
    broadcast_parked(s, "ParkedCall", pk, NULL);
    space_state(s, space, "INUSE");
    sim_bridge_enter(s, s->pbx->park_bridge, ch);
    sim_moh_start(s, ch, "default");
}

void sim_action_parkedcalls(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *lot = ami_packet_get(p, "ParkingLot");
    uint64_t now = sim_now_ms();
    sim_send_list_start(c, id, "Parked calls will follow");
    sim_buf b = {0};
    int n = 0;
    int all = !lot || !*lot || strcmp(lot, "default") == 0;
    /* Lowest space first. */
    for (int space = LOT_START; all && space <= LOT_STOP; space++) {
        for (const sim_parked *pk = c->sim->pbx->parked; pk; pk = pk->next) {
            if (pk->space != space)
                continue;
            sim_buf_puts(&b, "Event: ParkedCall\r\n");
            parked_event(c->sim, &b, pk, now);
            if (id)
                sim_hdr(&b, "ActionID", id);
            sim_buf_append(&b, "\r\n", 2);
            n++;
        }
    }
    sim_buf_puts(&b, "Event: ParkedCallsComplete\r\n");
    if (id)
        sim_hdr(&b, "ActionID", id);
    sim_buf_printf(&b, "EventList: Complete\r\nListItems: %d\r\nTotal: %d\r\n\r\n", n, n);
    sim_conn_send(c, b.data, b.len);
    sim_buf_free(&b);
}

void sim_action_parkinglots(sim_conn *c, const ami_packet *p, const char *id)
{
    (void)p;
    sim_send_list_start(c, id, "Parking lots will follow");
    sim_buf b = {0};
    sim_buf_puts(&b, "Event: Parkinglot\r\n");
    if (id)
        sim_hdr(&b, "ActionID", id);
    sim_buf_printf(&b, "Name: default\r\nStartSpace: %d\r\nStopSpace: %d\r\nTimeout: %d\r\n\r\n",
                   LOT_START, LOT_STOP, LOT_TIMEOUT);
    sim_buf_puts(&b, "Event: ParkinglotsComplete\r\n");
    if (id)
        sim_hdr(&b, "ActionID", id);
    sim_buf_puts(&b, "EventList: Complete\r\nListItems: 1\r\n\r\n");
    sim_conn_send(c, b.data, b.len);
    sim_buf_free(&b);
}

int sim_park_retrieve(sim *s, sim_call *call, int space)
{
    sim_parked *pk = s->pbx->parked;
    while (pk && pk->space != space)
        pk = pk->next;
    if (!pk || !call->two)
        return -1;
    sim_chan *parkee = pk->chan;
    broadcast_parked(s, "UnParkedCall", pk, call->two);
    unpark(s, pk);
    sim_bridge *b = sim_bridge_new(s, "basic", 1);
    sim_bridge_enter(s, b, call->two);
    sim_bridge_enter(s, b, parkee);
    return 0;
}

void sim_parking_on_hangup(sim *s, sim_call *call)
{
    for (sim_parked *pk = s->pbx->parked, *next; pk; pk = next) {
        next = pk->next;
        if (pk->call == call) {
            broadcast_parked(s, "ParkedCallGiveUp", pk, NULL);
            unpark(s, pk);
        }
    }
}

void sim_parking_tick(sim *s, uint64_t now)
{
    for (sim_parked *pk = s->pbx->parked, *next; pk; pk = next) {
        next = pk->next;
        if (now < pk->parked_ms + (uint64_t)pk->timeout_s * 1000u)
            continue;
        sim_chan *ch = pk->chan;
        /* The parkee moves to park-dial, extension = dial string with
         * '/' as '_', and calls the parker back. */
        char exten[128], dial[128];
        snprintf(dial, sizeof dial, "%s", pk->dialstring);
        snprintf(exten, sizeof exten, "%s", dial);
        for (char *q = exten; *q; q++)
            if (*q == '/')
                *q = '_';
        snprintf(ch->context, sizeof ch->context, "park-dial");
        snprintf(ch->exten, sizeof ch->exten, "%.63s", exten);
        ch->priority = 1;
        broadcast_parked(s, "ParkedCallTimeOut", pk, NULL);
        unpark(s, pk);
        char data[160];
        snprintf(data, sizeof data, "%s,20", dial);
        sim_newexten(s, ch, "Dial", data);
        sim_call *leg = sim_leg_dial(s, ch, dial, "AppDial");
        if (leg) {
            sim_leg_connect(s, leg, ch, 1);
        } else if (ch->call) {
            sim_call_hangup_later(ch->call, 16);
        }
        next = s->pbx->parked; /* the list may have changed */
    }
}

uint64_t sim_parking_deadline(const sim *s)
{
    uint64_t d = AMI_NO_DEADLINE;
    for (const sim_parked *pk = s->pbx->parked; pk; pk = pk->next) {
        uint64_t t = pk->parked_ms + (uint64_t)pk->timeout_s * 1000u;
        if (t < d)
            d = t;
    }
    return d;
}

void sim_parking_free(sim *s)
{
    while (s->pbx->parked) {
        sim_parked *pk = s->pbx->parked;
        s->pbx->parked = pk->next;
        free(pk);
    }
}
