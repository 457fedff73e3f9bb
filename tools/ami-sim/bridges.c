/*
 * Bridges: the registry behind BridgeCreate/Enter/Leave/Destroy, and the
 * actions over it: BridgeList, BridgeInfo, Bridge, BridgeKick,
 * BridgeDestroy, BlindTransfer and Redirect. Layouts and messages follow
 * bridge_transfer.raw (and Asterisk's manager_bridges.c where the capture
 * shows no error).
 */
#include "pbx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_bridge_headers(sim_buf *out, const sim_bridge *b)
{
    sim_buf_printf(out,
                   "BridgeUniqueid: %s\r\nBridgeType: %s\r\nBridgeTechnology: %s\r\n"
                   "BridgeCreator: %s\r\nBridgeName: %s\r\nBridgeNumChannels: %zu\r\n"
                   "BridgeVideoSourceMode: none\r\n",
                   b->id, b->type, b->tech, b->creator, b->name, b->n);
}

static void bridge_event(sim *s, const char *name, const sim_bridge *b, const sim_chan *ch)
{
    sim_buf out = {0};
    sim_buf_printf(&out, "Event: %s\r\nPrivilege: call,all\r\n", name);
    sim_bridge_headers(&out, b);
    if (ch)
        sim_chan_headers(&out, "", ch);
    sim_buf_append(&out, "\r\n", 2);
    sim_broadcast(s, SIM_CALL, out.data, out.len);
    sim_buf_free(&out);
}

sim_bridge *sim_bridge_new(sim *s, const char *type, int peers_hang_up)
{
    sim_bridge *b = sim_xmalloc(sizeof *b);
    memset(b, 0, sizeof *b);
    snprintf(b->id, sizeof b->id, "%08lx-%04lx-4%03lx-a%03lx-%06lx%06lx", random() & 0xffffffffL,
             random() & 0xffffL, random() & 0xfffL, random() & 0xfffL, random() & 0xffffffL,
             random() & 0xffffffL);
    int parking = strcmp(type, "parking") == 0;
    snprintf(b->type, sizeof b->type, "%s", type);
    snprintf(b->tech, sizeof b->tech, "%s", parking ? "holding_bridge" : "simple_bridge");
    snprintf(b->creator, sizeof b->creator, "%s", parking ? "Parking" : "<unknown>");
    snprintf(b->name, sizeof b->name, "%s", parking ? "default" : "<unknown>");
    b->persistent = parking;
    b->peers_hang_up = peers_hang_up;
    /* Append: BridgeList lists the oldest first. */
    sim_bridge **pp = &s->pbx->bridges;
    while (*pp)
        pp = &(*pp)->next;
    *pp = b;
    bridge_event(s, "BridgeCreate", b, NULL);
    return b;
}

sim_bridge *sim_bridge_find(sim *s, const char *id)
{
    for (sim_bridge *b = s->pbx->bridges; b; b = b->next)
        if (strcmp(b->id, id) == 0)
            return b;
    return NULL;
}

void sim_bridge_enter(sim *s, sim_bridge *b, sim_chan *ch)
{
    if (ch->bridge[0])
        sim_bridge_remove(s, ch);
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4;
        b->members = sim_xrealloc(b->members, b->cap * sizeof *b->members);
    }
    b->members[b->n++] = ch;
    snprintf(ch->bridge, sizeof ch->bridge, "%s", b->id);
    bridge_event(s, "BridgeEnter", b, ch);
}

static void unlink_bridge(sim *s, sim_bridge *b)
{
    for (sim_bridge **pp = &s->pbx->bridges; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    }
    if (s->pbx->park_bridge == b)
        s->pbx->park_bridge = NULL;
    free(b->members);
    free(b);
}

/* BridgeLeave only; returns the bridge (still listed) or NULL. */
static sim_bridge *take_out(sim *s, sim_chan *ch)
{
    sim_bridge *b = ch->bridge[0] ? sim_bridge_find(s, ch->bridge) : NULL;
    ch->bridge[0] = '\0';
    if (!b)
        return NULL;
    for (size_t i = 0; i < b->n; i++) {
        if (b->members[i] == ch) {
            memmove(&b->members[i], &b->members[i + 1], (b->n - i - 1) * sizeof *b->members);
            b->n--;
            break;
        }
    }
    bridge_event(s, "BridgeLeave", b, ch);
    return b;
}

void sim_bridge_remove(sim *s, sim_chan *ch)
{
    sim_bridge *b = take_out(s, ch);
    if (b && b->n == 0 && !b->persistent) {
        bridge_event(s, "BridgeDestroy", b, NULL);
        unlink_bridge(s, b);
    }
}

/* The parties still in `b` leave it; with peers_hang_up their calls end
 * (unless it is `except`, already ending), else they go back to the
 * dialplan where they were. */
static void dissolve(sim *s, sim_bridge *b, const sim_call *except)
{
    int hang = b->peers_hang_up;
    while (b->n) {
        sim_chan *r = b->members[0];
        take_out(s, r);
        if (hang) {
            if (r->call && r->call != except)
                sim_call_hangup_later(r->call, 16);
        } else {
            sim_chan_goto(s, r, r->context, r->exten, r->priority);
        }
    }
    if (!b->persistent) {
        bridge_event(s, "BridgeDestroy", b, NULL);
        unlink_bridge(s, b);
    }
}

void sim_bridge_leave(sim *s, sim_chan *ch)
{
    sim_bridge *b = take_out(s, ch);
    if (!b)
        return;
    if (!b->persistent && b->n < 2)
        dissolve(s, b, ch->call);
}

sim_chan *sim_bridge_peer(sim *s, const sim_chan *ch)
{
    sim_bridge *b = ch->bridge[0] ? sim_bridge_find(s, ch->bridge) : NULL;
    if (!b)
        return NULL;
    for (size_t i = 0; i < b->n; i++)
        if (b->members[i] != ch)
            return b->members[i];
    return NULL;
}

void sim_bridges_free(sim *s)
{
    while (s->pbx->bridges)
        unlink_bridge(s, s->pbx->bridges);
}

static void list_complete(sim_buf *b, const char *event, const char *id, size_t n)
{
    sim_buf_printf(b, "Event: %s\r\n", event);
    if (id)
        sim_hdr(b, "ActionID", id);
    sim_buf_printf(b, "EventList: Complete\r\nListItems: %zu\r\n", n);
}

void sim_action_bridgelist(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *type = ami_packet_get(p, "BridgeType");
    sim_send_list_start(c, id, "Bridge listing will follow");
    sim_buf out = {0};
    size_t n = 0;
    for (const sim_bridge *b = c->sim->pbx->bridges; b; b = b->next) {
        if (type && *type && strcmp(type, b->type) != 0)
            continue;
        sim_buf_puts(&out, "Event: BridgeListItem\r\n");
        if (id)
            sim_hdr(&out, "ActionID", id);
        sim_bridge_headers(&out, b);
        sim_buf_append(&out, "\r\n", 2);
        n++;
    }
    list_complete(&out, "BridgeListComplete", id, n);
    sim_buf_append(&out, "\r\n", 2);
    sim_conn_send(c, out.data, out.len);
    sim_buf_free(&out);
}

void sim_action_bridgeinfo(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *bid = ami_packet_get(p, "BridgeUniqueid");
    if (!bid || !*bid) {
        sim_send_error(c, id, "BridgeUniqueid must be provided");
        return;
    }
    const sim_bridge *b = sim_bridge_find(c->sim, bid);
    if (!b) {
        sim_send_error(c, id, "Bridge not found");
        return;
    }
    sim_send_list_start(c, id, "Bridge channel listing will follow");
    sim_buf out = {0};
    /* Newest member first, as in bridge_transfer.raw. */
    for (size_t i = b->n; i-- > 0;) {
        sim_buf_puts(&out, "Event: BridgeInfoChannel\r\n");
        if (id)
            sim_hdr(&out, "ActionID", id);
        sim_chan_headers(&out, "", b->members[i]);
        sim_buf_append(&out, "\r\n", 2);
    }
    list_complete(&out, "BridgeInfoComplete", id, b->n);
    sim_bridge_headers(&out, b);
    sim_buf_append(&out, "\r\n", 2);
    sim_conn_send(c, out.data, out.len);
    sim_buf_free(&out);
}

void sim_action_bridge(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *n1 = ami_packet_get(p, "Channel1");
    const char *n2 = ami_packet_get(p, "Channel2");
    char msg[AMI_ACTION_MAX_LINE + 64];
    if (!n1 || !*n1 || !n2 || !*n2) {
        sim_send_error(c, id, "Missing channel parameter in request");
        return;
    }
    sim_chan *a = sim_chan_find(s, n1);
    if (!a) {
        snprintf(msg, sizeof msg, "Channel1 does not exist: %s", n1);
        sim_send_error(c, id, msg);
        return;
    }
    sim_chan *b = sim_chan_find(s, n2);
    if (!b) {
        snprintf(msg, sizeof msg, "Channel2 does not exist: %s", n2);
        sim_send_error(c, id, msg);
        return;
    }
    if (a == b) {
        sim_send_error(c, id, "Unable to bridge a channel to itself");
        return;
    }
    sim_send_ack(c, id, "Channels have been bridged");
    /* Out of any bridge they are in; a dissolving Dial() bridge must not
     * take the other one of the pair down with it. */
    sim_chan *both[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        sim_bridge *old = both[i]->bridge[0] ? sim_bridge_find(s, both[i]->bridge) : NULL;
        if (!old)
            continue;
        take_out(s, both[i]);
        if (!old->persistent && old->n < 2) {
            if (old->n == 1 && old->members[0] == both[1 - i])
                take_out(s, both[1 - i]);
            dissolve(s, old, both[i]->call);
        }
    }
    sim_bridge *nb = sim_bridge_new(s, "basic", 0);
    sim_bridge_enter(s, nb, a);
    sim_bridge_enter(s, nb, b);
}

void sim_action_bridgekick(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *bid = ami_packet_get(p, "BridgeUniqueid");
    const char *name = ami_packet_get(p, "Channel");
    if (!name || !*name) {
        sim_send_error(c, id, "Channel must be provided");
        return;
    }
    sim_chan *ch = sim_chan_find(s, name);
    if (!ch) {
        sim_send_error(c, id, "Channel does not exist");
        return;
    }
    sim_bridge *b = NULL;
    if (bid && *bid) {
        b = sim_bridge_find(s, bid);
        if (!b) {
            sim_send_error(c, id, "Bridge not found");
            return;
        }
    } else {
        b = ch->bridge[0] ? sim_bridge_find(s, ch->bridge) : NULL;
    }
    if (!b || strcmp(ch->bridge, b->id) != 0 || b->persistent) {
        /* Kicking a parked call out of the holding bridge is not modelled. */
        sim_send_error(c, id, "Channel kick from bridge failed");
        return;
    }
    sim_send_ack(c, id, "Channel has been kicked");
    sim_bridge_leave(s, ch);
    sim_chan_goto(s, ch, ch->context, ch->exten, ch->priority);
}

void sim_action_bridgedestroy(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *bid = ami_packet_get(p, "BridgeUniqueid");
    if (!bid || !*bid) {
        sim_send_error(c, id, "BridgeUniqueid must be provided");
        return;
    }
    sim_bridge *b = sim_bridge_find(s, bid);
    if (!b) {
        sim_send_error(c, id, "Specified BridgeUniqueid not found");
        return;
    }
    sim_send_ack(c, id, "Bridge has been destroyed");
    /* Parked calls in a destroyed holding bridge are hung up. */
    if (b->persistent) {
        b->peers_hang_up = 1;
        b->persistent = 0;
    }
    dissolve(s, b, NULL);
}

void sim_action_blindtransfer(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *name = ami_packet_get(p, "Channel");
    const char *ctx = ami_packet_get(p, "Context");
    const char *exten = ami_packet_get(p, "Exten");
    if (!name || !*name) {
        sim_send_error(c, id, "No channel specified");
        return;
    }
    if (!exten || !*exten) {
        sim_send_error(c, id, "No extension specified");
        return;
    }
    sim_chan *t = sim_chan_find(s, name);
    if (!t) {
        sim_send_error(c, id, "Channel specified does not exist");
        return;
    }
    sim_bridge *b = t->bridge[0] ? sim_bridge_find(s, t->bridge) : NULL;
    sim_chan *e = sim_bridge_peer(s, t);
    if (!b || !e || b->persistent) {
        sim_send_error(c, id, "Transfer invalid");
        return;
    }
    if (!ctx || !*ctx)
        ctx = t->context;
    sim_send_ack(c, id, "Transfer succeeded");
    sim_chan_event(s, SIM_CALL, "Unhold", t, NULL);
    sim_buf out = {0};
    sim_buf_puts(&out, "Event: BlindTransfer\r\nPrivilege: call,all\r\nResult: Success\r\n");
    sim_chan_headers(&out, "Transferer", t);
    sim_chan_headers(&out, "Transferee", e);
    sim_bridge_headers(&out, b);
    sim_buf_puts(&out, "IsExternal: Yes\r\n");
    sim_hdr(&out, "Context", ctx);
    sim_hdr(&out, "Extension", exten);
    sim_buf_append(&out, "\r\n", 2);
    sim_broadcast(s, SIM_CALL, out.data, out.len);
    sim_buf_free(&out);
    /* The transferer leaves and hangs up; the transferee runs the new
     * extension for as long as a call lasts. */
    take_out(s, t);
    char c2[64], e2[64];
    snprintf(c2, sizeof c2, "%s", ctx);
    snprintf(e2, sizeof e2, "%s", exten);
    sim_chan_goto(s, e, c2, e2, 1);
    sim_call_hangup_later(t->call, 16);
    while (b->n)
        take_out(s, b->members[0]);
    bridge_event(s, "BridgeDestroy", b, NULL);
    unlink_bridge(s, b);
    if (e->call && e->call != t->call) {
        e->call->step = 2;
        e->call->next_at = sim_now_ms() + (uint64_t)s->opt.call_duration_ms;
    }
}

void sim_action_redirect(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *name = ami_packet_get(p, "Channel");
    const char *ctx = ami_packet_get(p, "Context");
    const char *exten = ami_packet_get(p, "Exten");
    const char *prio = ami_packet_get(p, "Priority");
    char msg[AMI_ACTION_MAX_LINE + 64];
    int pi;
    if (!name || !*name) {
        sim_send_error(c, id, "Channel not specified");
        return;
    }
    if (!ctx || !*ctx) {
        sim_send_error(c, id, "Context not specified");
        return;
    }
    if (!exten || !*exten) {
        sim_send_error(c, id, "Exten not specified");
        return;
    }
    if (!prio || !*prio) {
        sim_send_error(c, id, "Priority not specified");
        return;
    }
    if (sscanf(prio, "%30d", &pi) != 1 || pi < 1) {
        sim_send_error(c, id, "Invalid priority");
        return;
    }
    sim_chan *ch = sim_chan_find(s, name);
    if (!ch) {
        snprintf(msg, sizeof msg, "Channel does not exist: %s", name);
        sim_send_error(c, id, msg);
        return;
    }
    sim_send_ack(c, id, "Redirect successful");
    char c2[64], e2[64];
    snprintf(c2, sizeof c2, "%s", ctx);
    snprintf(e2, sizeof e2, "%s", exten);
    sim_chan_goto(s, ch, c2, e2, pi);
    if (ch->bridge[0])
        sim_bridge_leave(s, ch);
    if (ch->call) {
        ch->call->step = 2;
        ch->call->next_at = sim_now_ms() + (uint64_t)s->opt.call_duration_ms;
    }
}
