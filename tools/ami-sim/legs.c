/*
 * Dial legs: the Local pairs the PBX itself dials, for Dial() (the
 * `bridged` extension), Queue() agents and parking call-backs. The event
 * sequence is the one of the dialled Local/wait@test and Local/200@test
 * pairs in bridge_transfer.raw and queue_callcenter.raw: Newchannel ×2,
 * Newexten (AppDial/AppQueue) on ;1, caller ID copied from the caller,
 * LocalBridge, then (sim_leg_answer) DialBegin, Answer on ;2, Newstate Up
 * ×2, DialEnd; and (sim_leg_connect) a basic bridge with the caller,
 * BRIDGEPEER, and the agent's dialplan (Wait). A leg lasts --call-duration.
 */
#include "pbx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void copy_callerid(sim *s, sim_chan *ch, const sim_chan *from)
{
    snprintf(ch->cid_num, sizeof ch->cid_num, "%s", from->cid_num);
    snprintf(ch->cid_name, sizeof ch->cid_name, "%s", from->cid_name);
    sim_chan_event(s, SIM_CALL, "NewCallerid", ch,
                   "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n");
}

static void local_bridge(sim *s, const sim_call *leg)
{
    sim_buf b = {0};
    sim_buf_puts(&b, "Event: LocalBridge\r\nPrivilege: call,all\r\n");
    sim_chan_headers(&b, "LocalOne", leg->one);
    sim_chan_headers(&b, "LocalTwo", leg->two);
    sim_buf_printf(&b, "Context: %s\r\nExten: %s\r\nLocalOptimization: Yes\r\n\r\n",
                   leg->two->context, leg->two->exten);
    sim_broadcast(s, SIM_CALL, b.data, b.len);
    sim_buf_free(&b);
}

static void dial_event(sim *s, const char *name, const sim_chan *from, const sim_chan *dest,
                       const char *extra)
{
    sim_buf b = {0};
    sim_buf_printf(&b, "Event: %s\r\nPrivilege: call,all\r\n", name);
    sim_chan_headers(&b, "", from);
    sim_chan_headers(&b, "Dest", dest);
    sim_buf_puts(&b, extra);
    sim_buf_append(&b, "\r\n", 2);
    sim_broadcast(s, SIM_CALL, b.data, b.len);
    sim_buf_free(&b);
}

sim_call *sim_leg_dial(sim *s, sim_chan *from, const char *device, const char *app1)
{
    if (strncasecmp(device, "Local/", 6) != 0 || !strchr(device, '@'))
        return NULL; /* only Local channels can be dialled in the sim */
    const char *res = device + 6;
    const char *at = strchr(res, '@');
    char exten[60], ctx[60], name[160];
    snprintf(exten, sizeof exten, "%.*s", (int)(at - res), res);
    snprintf(ctx, sizeof ctx, "%s", at + 1);
    ctx[strcspn(ctx, "/,")] = '\0';

    sim_call *leg = sim_xmalloc(sizeof *leg);
    memset(leg, 0, sizeof *leg);
    leg->async = 1; /* nobody waits for a response */
    snprintf(leg->device, sizeof leg->device, "Local/%s@%s", exten, ctx);
    snprintf(leg->dest_app, sizeof leg->dest_app, "%s", app1);
    unsigned seq = s->chan_seq++;
    snprintf(name, sizeof name, "Local/%s@%s-%08x;1", exten, ctx, seq);
    leg->one = sim_chan_new(s, name, from->linkedid);
    snprintf(name, sizeof name, "Local/%s@%s-%08x;2", exten, ctx, seq);
    leg->two = sim_chan_new(s, name, from->linkedid);
    leg->one->call = leg->two->call = leg;
    leg->two->state = 4;
    sim_chan *halves[2] = {leg->one, leg->two};
    for (int i = 0; i < 2; i++) {
        snprintf(halves[i]->context, sizeof halves[i]->context, "%s", ctx);
        snprintf(halves[i]->exten, sizeof halves[i]->exten, "%s", exten);
    }
    leg->next = s->calls;
    s->calls = leg;
    /* Not due until answered and connected. */
    leg->step = 2;
    leg->next_at = AMI_NO_DEADLINE;

    sim_chan_event(s, SIM_CALL, "Newchannel", leg->one, NULL);
    sim_chan_event(s, SIM_CALL, "Newchannel", leg->two, NULL);
    copy_callerid(s, leg->one, from);
    sim_newexten(s, leg->one, app1, "(Outgoing Line)");
    copy_callerid(s, leg->two, from);
    snprintf(leg->two->conn_num, sizeof leg->two->conn_num, "%s", from->cid_num);
    snprintf(leg->two->conn_name, sizeof leg->two->conn_name, "%s", from->cid_name);
    sim_chan_event(s, SIM_CALL, "NewConnectedLine", leg->two, NULL);
    local_bridge(s, leg);
    return leg;
}

void sim_leg_answer(sim *s, sim_call *leg, sim_chan *from, const char *dialstring)
{
    char ds[192];
    snprintf(ds, sizeof ds, "DialString: %s\r\n", dialstring);
    dial_event(s, "DialBegin", from, leg->one, ds);
    sim_newexten(s, leg->two, "Answer", "");
    leg->two->state = 6;
    sim_chan_event(s, SIM_CALL, "Newstate", leg->two, NULL);
    leg->one->state = 6;
    sim_chan_event(s, SIM_CALL, "Newstate", leg->one, NULL);
    snprintf(leg->one->conn_num, sizeof leg->one->conn_num, "%s", from->cid_num);
    snprintf(leg->one->conn_name, sizeof leg->one->conn_name, "%s", from->cid_name);
    sim_chan_event(s, SIM_CALL, "NewConnectedLine", leg->one, NULL);
    dial_event(s, "DialEnd", from, leg->one, "DialStatus: ANSWER\r\n");
    leg->answered = 1;
    sim_devstate_set(s, leg->device, "INUSE");
}

void sim_leg_connect(sim *s, sim_call *leg, sim_chan *from, int peers_hang_up)
{
    if (!leg->answered) {
        char ds[160];
        snprintf(ds, sizeof ds, "%s@%s", leg->two->exten, leg->two->context);
        sim_leg_answer(s, leg, from, ds);
    }
    sim_bridge *b = sim_bridge_new(s, "basic", peers_hang_up);
    sim_bridge_enter(s, b, leg->one);
    sim_bridge_enter(s, b, from);
    sim_chan_setvar(s, leg->one, "BRIDGEPEER", from->name);
    sim_chan_setvar(s, from, "BRIDGEPEER", leg->one->name);
    sim_chan_goto(s, leg->two, leg->two->context, leg->two->exten, 2);
    leg->next_at = sim_now_ms() + (uint64_t)s->opt.call_duration_ms;
}
