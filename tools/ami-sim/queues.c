/*
 * Queue calls, as in queue_callcenter.raw: a caller joins
 * (QueueCallerJoin, hold music), is offered to a free member on the next
 * loop turn (AgentCalled, a dial leg), is connected (QueueCallerLeave,
 * AgentConnect, a bridge, QueueMemberStatus InCall), and completes
 * (AgentComplete, QueueMemberStatus) — or abandons when hung up while
 * waiting (QueueCallerAbandon, QueueCallerLeave).
 *
 * ringall offers a caller to the first free member of the lowest penalty
 * (no parallel ringing); rrmemory goes round the members.
 */
#include "pbx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

sim_queue *sim_queue_find(sim *s, const char *name)
{
    for (sim_queue *q = s->pbx->queues; q; q = q->next)
        if (strcmp(q->name, name) == 0)
            return q;
    return NULL;
}

sim_qmember *sim_qmember_find(sim_queue *q, const char *iface)
{
    for (sim_qmember *m = q->members; m; m = m->next)
        if (strcmp(m->iface, iface) == 0)
            return m;
    return NULL;
}

void sim_qmember_event(sim *s, const char *event, const sim_queue *q, const sim_qmember *m)
{
    sim_buf b = {0};
    sim_buf_printf(&b, "Event: %s\r\nPrivilege: agent,all\r\n", event);
    sim_hdr(&b, "Queue", q->name);
    sim_hdr(&b, "MemberName", m->name);
    sim_hdr(&b, "Interface", m->iface);
    sim_hdr(&b, "StateInterface", m->state_iface);
    sim_buf_printf(&b,
                   "Membership: %s\r\nPenalty: %d\r\nCallsTaken: %d\r\nLastCall: %ld\r\n"
                   "LastPause: %ld\r\nLoginTime: %ld\r\nInCall: %d\r\nStatus: %d\r\n"
                   "Paused: %d\r\n",
                   m->dynamic ? "dynamic" : "static", m->penalty, m->calls_taken, m->last_call,
                   m->last_pause, m->login_time, m->in_call, m->status, m->paused);
    sim_hdr(&b, "PausedReason", m->reason);
    sim_buf_printf(&b, "Ringinuse: %d\r\nWrapuptime: %d\r\n\r\n", m->ringinuse, m->wrapuptime);
    sim_broadcast(s, SIM_AGENT, b.data, b.len);
    sim_buf_free(&b);
}

static int member_free(const sim_qmember *m)
{
    return !m->paused && !m->in_call && !m->leg && m->status == 1;
}

void sim_queue_avail_state(sim *s, const sim_queue *q)
{
    int avail = 0;
    for (const sim_qmember *m = q->members; m; m = m->next)
        avail |= member_free(m);
    char dev[200];
    snprintf(dev, sizeof dev, "Queue:%s_avail", q->name);
    sim_devstate_set(s, dev, avail ? "NOT_INUSE" : "INUSE");
}

static int waiting_count(const sim_queue *q)
{
    int n = 0;
    for (const sim_qcaller *c = q->callers; c; c = c->next)
        n += !c->member;
    return n;
}

/* 1-based position among the waiting callers. */
static int position_of(const sim_queue *q, const sim_qcaller *who)
{
    int n = 0;
    for (const sim_qcaller *c = q->callers; c; c = c->next) {
        if (!c->member)
            n++;
        if (c == who)
            return n;
    }
    return 0;
}

static void caller_event(sim *s, const char *name, const sim_queue *q, const sim_chan *ch,
                         const char *extra)
{
    sim_buf x = {0};
    sim_hdr(&x, "Queue", q->name);
    sim_buf_puts(&x, extra);
    sim_chan_event(s, SIM_AGENT, name, ch, x.data);
    sim_buf_free(&x);
}

static void agent_event(sim *s, const char *name, const sim_queue *q, const sim_chan *caller,
                        const sim_qmember *m, const sim_chan *dest, const char *extra)
{
    sim_buf b = {0};
    sim_buf_printf(&b, "Event: %s\r\nPrivilege: agent,all\r\n", name);
    sim_chan_headers(&b, "", caller);
    sim_chan_headers(&b, "Dest", dest);
    sim_hdr(&b, "Queue", q->name);
    sim_hdr(&b, "Interface", m->iface);
    sim_hdr(&b, "MemberName", m->name);
    sim_buf_puts(&b, extra);
    sim_buf_append(&b, "\r\n", 2);
    sim_broadcast(s, SIM_AGENT, b.data, b.len);
    sim_buf_free(&b);
}

static void queue_device(sim *s, const sim_queue *q, const char *state)
{
    char dev[100];
    snprintf(dev, sizeof dev, "Queue:%s", q->name);
    sim_devstate_set(s, dev, state);
}

void sim_queue_join(sim *s, sim_queue *q, sim_call *call, sim_chan *ch)
{
    int waiting = waiting_count(q);
    if (q->max && waiting >= q->max)
        return; /* QUEUESTATUS=FULL: the caller goes on in the dialplan */
    static const char *const vars[] = {"ANSWEREDTIME",  "ANSWEREDTIME_MS", "DIALEDTIME",
                                       "DIALEDTIME_MS", "QUEUEWAIT",       "QUEUEWAIT_MS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        sim_chan_setvar(s, ch, vars[i], "");
    sim_qcaller *qc = sim_xmalloc(sizeof *qc);
    memset(qc, 0, sizeof *qc);
    qc->call = call;
    qc->chan = ch;
    qc->joined_ms = sim_now_ms();
    sim_qcaller **pp = &q->callers;
    while (*pp)
        pp = &(*pp)->next;
    *pp = qc;
    qc->original_position = waiting + 1;
    if (waiting == 0)
        queue_device(s, q, "RINGING");
    char x[64];
    snprintf(x, sizeof x, "Position: %d\r\nCount: %d\r\n", waiting + 1, waiting + 1);
    caller_event(s, "QueueCallerJoin", q, ch, x);
    sim_moh_start(s, ch, "default");
    s->pbx->dispatch_due = 1;
}

static sim_qmember *pick(sim_queue *q)
{
    if (strcmp(q->strategy, "rrmemory") == 0) {
        int n = 0;
        for (sim_qmember *m = q->members; m; m = m->next)
            n++;
        for (int k = 0; k < n; k++) {
            int idx = (q->rr_next + k) % n;
            sim_qmember *m = q->members;
            for (int j = 0; j < idx; j++)
                m = m->next;
            if (member_free(m)) {
                q->rr_next = (idx + 1) % n;
                return m;
            }
        }
        return NULL;
    }
    sim_qmember *best = NULL;
    for (sim_qmember *m = q->members; m; m = m->next)
        if (member_free(m) && (!best || m->penalty < best->penalty))
            best = m;
    return best;
}

static void offer(sim *s, sim_queue *q, sim_qcaller *qc, sim_qmember *m)
{
    sim_chan *ch = qc->chan;
    sim_call *leg = sim_leg_dial(s, ch, m->iface, "AppQueue");
    if (!leg) {
        m->status = 5; /* UNAVAILABLE: a member the sim cannot dial */
        sim_qmember_event(s, "QueueMemberStatus", q, m);
        return;
    }
    m->leg = leg;
    agent_event(s, "AgentCalled", q, ch, m, leg->one, "");
    sim_leg_answer(s, leg, ch, m->iface);
    sim_moh_stop(s, ch);
    int pos = position_of(q, qc);
    qc->member = m;
    qc->connected_ms = sim_now_ms();
    int left = waiting_count(q);
    if (left == 0)
        queue_device(s, q, "NOT_INUSE");
    char x[96];
    snprintf(x, sizeof x, "Position: %d\r\nCount: %d\r\n", pos, left);
    caller_event(s, "QueueCallerLeave", q, ch, x);
    long hold = (long)((qc->connected_ms - qc->joined_ms) / 1000u);
    snprintf(x, sizeof x, "%d", pos);
    sim_chan_setvar(s, ch, "QUEUEPOSITION", x);
    snprintf(x, sizeof x, "%ld", hold);
    sim_chan_setvar(s, ch, "QUEUEWAIT", x);
    snprintf(x, sizeof x, "%ld", hold * 1000);
    sim_chan_setvar(s, ch, "QUEUEWAIT_MS", x);
    snprintf(x, sizeof x, "HoldTime: %ld\r\nRingTime: 0\r\n", hold);
    agent_event(s, "AgentConnect", q, ch, m, leg->one, x);
    q->holdtime = (int)((q->holdtime * 3 + hold) / 4);
    m->in_call = 1;
    m->status = 2;
    sim_leg_connect(s, leg, ch, 1);
    sim_qmember_event(s, "QueueMemberStatus", q, m);
    sim_queue_avail_state(s, q);
}

void sim_queues_dispatch(sim *s)
{
    for (sim_queue *q = s->pbx->queues; q; q = q->next) {
        for (sim_qcaller *qc = q->callers; qc; qc = qc->next) {
            if (qc->member)
                continue;
            sim_qmember *m = pick(q);
            if (!m)
                break;
            offer(s, q, qc, m);
        }
    }
}

static void drop_caller(sim_queue *q, sim_qcaller *qc)
{
    for (sim_qcaller **pp = &q->callers; *pp; pp = &(*pp)->next) {
        if (*pp == qc) {
            *pp = qc->next;
            break;
        }
    }
    free(qc);
}

/* The talk ended (reason "agent" or "caller"). */
static void complete(sim *s, sim_queue *q, sim_qcaller *qc, const char *reason)
{
    sim_qmember *m = qc->member;
    uint64_t now = sim_now_ms();
    long hold = (long)((qc->connected_ms - qc->joined_ms) / 1000u);
    long talk = (long)((now - qc->connected_ms) / 1000u);
    if (m->leg) {
        char x[96];
        snprintf(x, sizeof x, "HoldTime: %ld\r\nTalkTime: %ld\r\nReason: %s\r\n", hold, talk,
                 reason);
        agent_event(s, "AgentComplete", q, qc->chan, m, m->leg->one, x);
        if (strcmp(reason, "caller") == 0)
            sim_call_hangup_later(m->leg, 16);
    }
    m->leg = NULL;
    m->in_call = 0;
    m->status = 1;
    m->calls_taken++;
    m->last_call = (long)time(NULL);
    q->completed++;
    if (hold <= q->servicelevel)
        q->completed_insl++;
    q->talktime = (int)((q->talktime * 3 + talk) / 4);
    sim_qmember_event(s, "QueueMemberStatus", q, m);
    sim_queue_avail_state(s, q);
    drop_caller(q, qc);
    s->pbx->dispatch_due = 1;
}

static void abandon(sim *s, sim_queue *q, sim_qcaller *qc)
{
    int pos = position_of(q, qc);
    long hold = (long)((sim_now_ms() - qc->joined_ms) / 1000u);
    sim_moh_stop(s, qc->chan);
    char x[128];
    snprintf(x, sizeof x, "Position: %d\r\nOriginalPosition: %d\r\nHoldTime: %ld\r\n", pos,
             qc->original_position, hold);
    caller_event(s, "QueueCallerAbandon", q, qc->chan, x);
    sim_chan *ch = qc->chan;
    drop_caller(q, qc);
    q->abandoned++;
    if (hold <= q->servicelevel)
        q->abandoned_insl++;
    int left = waiting_count(q);
    if (left == 0)
        queue_device(s, q, "NOT_INUSE");
    snprintf(x, sizeof x, "Position: %d\r\nCount: %d\r\n", pos, left);
    caller_event(s, "QueueCallerLeave", q, ch, x);
}

void sim_queues_on_hangup(sim *s, sim_call *call)
{
    for (sim_queue *q = s->pbx->queues; q; q = q->next) {
        for (sim_qcaller *qc = q->callers, *next; qc; qc = next) {
            next = qc->next;
            if (qc->call == call) {
                if (qc->member)
                    complete(s, q, qc, "caller");
                else
                    abandon(s, q, qc);
            } else if (qc->member && qc->member->leg == call) {
                complete(s, q, qc, "agent");
            }
        }
    }
}

void sim_queues_free(sim *s)
{
    while (s->pbx->queues) {
        sim_queue *q = s->pbx->queues;
        s->pbx->queues = q->next;
        while (q->members) {
            sim_qmember *m = q->members;
            q->members = m->next;
            free(m);
        }
        while (q->callers)
            drop_caller(q, q->callers);
        free(q);
    }
}
