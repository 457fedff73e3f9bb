/*
 * The PBX hooks calls.c calls (answer, hangup, timers) and the small
 * dialplan helpers the other PBX files share. The destination dialplan of
 * an answered Originate runs here: Queue() joins a queue, Dial() dials a
 * leg and bridges it, MusicOnHold() starts hold music, and the
 * parkedcalls context retrieves a parked call.
 */
#include "pbx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_pbx_init(sim *s)
{
    s->pbx = sim_xmalloc(sizeof *s->pbx);
    memset(s->pbx, 0, sizeof *s->pbx);
}

void sim_pbx_free(sim *s)
{
    if (!s->pbx)
        return;
    sim_parking_free(s);
    sim_queues_free(s);
    sim_bridges_free(s);
    sim_devstate_free(s);
    sim_moh_free(s);
    free(s->pbx);
    s->pbx = NULL;
}

void sim_call_hangup_later(sim_call *call, int cause)
{
    if (call->step == 2 && call->next_at == 0)
        return; /* already due */
    call->step = 2;
    call->next_at = 0;
    if (!call->cause)
        call->cause = cause ? cause : 16;
}

void sim_newexten(sim *s, sim_chan *ch, const char *app, const char *data)
{
    snprintf(ch->app, sizeof ch->app, "%s", app);
    snprintf(ch->appdata, sizeof ch->appdata, "%s", data);
    sim_buf x = {0};
    sim_buf_printf(&x, "Extension: %s\r\nApplication: %s\r\nAppData: %s\r\n", ch->exten, app, data);
    sim_chan_event(s, SIM_DIALPLAN, "Newexten", ch, x.data);
    sim_buf_free(&x);
}

void sim_chan_device(const sim_chan *ch, char *buf, size_t n)
{
    /* Strip the "-0000000N;1" suffix Asterisk appends to the device. */
    const char *dash = strrchr(ch->name, '-');
    size_t len = dash ? (size_t)(dash - ch->name) : strlen(ch->name);
    snprintf(buf, n, "%.*s", (int)len, ch->name);
}

static const sim_prio *plan_at(const char *ctx, const char *exten, int prio)
{
    if (strcmp(ctx, "test") != 0)
        return NULL;
    size_t n;
    const sim_prio *p = sim_dialplan(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].exten, exten) == 0 && p[i].prio == prio)
            return &p[i];
    return NULL;
}

void sim_chan_goto(sim *s, sim_chan *ch, const char *ctx, const char *exten, int prio)
{
    char c[64], e[64];
    snprintf(c, sizeof c, "%s", ctx); /* ctx may be ch->context itself */
    snprintf(e, sizeof e, "%s", exten);
    snprintf(ch->context, sizeof ch->context, "%s", c);
    snprintf(ch->exten, sizeof ch->exten, "%s", e);
    ch->priority = prio;
    const sim_prio *pr = plan_at(c, e, prio);
    if (!pr)
        return;
    sim_newexten(s, ch, pr->app, pr->data);
    const sim_prio *next = plan_at(c, e, prio + 1);
    if (strcmp(pr->app, "Answer") == 0 && next) {
        ch->priority = prio + 1;
        sim_newexten(s, ch, next->app, next->data);
    }
}

/* The first part of an application's data: "support" of "support,,,,20". */
static void first_arg(const char *data, char *buf, size_t n)
{
    size_t len = strcspn(data, ",");
    snprintf(buf, n, "%.*s", (int)len, data);
}

void sim_pbx_on_answer(sim *s, sim_call *call)
{
    sim_chan *two = call->two;
    if (!two)
        return;
    char arg[128];
    if (strcmp(two->context, "parkedcalls") == 0) {
        sim_newexten(s, two, "ParkedCall", two->exten);
        sim_park_retrieve(s, call, atoi(two->exten));
        return;
    }
    /* Priority 1 (Answer) already ran in the call's set-up. */
    const sim_prio *pr = plan_at(two->context, two->exten, 2);
    const sim_prio *p1 = plan_at(two->context, two->exten, 1);
    if (p1 && strcmp(p1->app, "Answer") != 0)
        pr = p1;
    if (!pr)
        return;
    two->priority = pr->prio;
    sim_newexten(s, two, pr->app, pr->data);
    first_arg(pr->data, arg, sizeof arg);
    if (strcmp(pr->app, "Queue") == 0) {
        sim_queue *q = sim_queue_find(s, arg);
        if (q)
            sim_queue_join(s, q, call, two);
    } else if (strcmp(pr->app, "Dial") == 0) {
        sim_call *leg = sim_leg_dial(s, two, arg, "AppDial");
        if (leg)
            sim_leg_connect(s, leg, two, 1);
    } else if (strcmp(pr->app, "MusicOnHold") == 0) {
        sim_moh_start(s, two, arg[0] ? arg : "default");
    }
}

void sim_pbx_on_hangup(sim *s, sim_call *call)
{
    sim_queues_on_hangup(s, call);
    sim_parking_on_hangup(s, call);
    sim_chan *chans[2] = {call->two, call->one};
    for (int i = 0; i < 2; i++)
        if (chans[i])
            sim_moh_stop(s, chans[i]);
}

void sim_pbx_tick(sim *s, uint64_t now)
{
    if (!s->pbx)
        return;
    sim_parking_tick(s, now);
    if (s->pbx->dispatch_due) {
        s->pbx->dispatch_due = 0;
        sim_queues_dispatch(s);
    }
}

uint64_t sim_pbx_deadline(const sim *s)
{
    if (!s->pbx)
        return AMI_NO_DEADLINE;
    if (s->pbx->dispatch_due)
        return 0;
    return sim_parking_deadline(s);
}
