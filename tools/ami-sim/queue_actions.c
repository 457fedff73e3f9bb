/*
 * The queue actions: QueueStatus, QueueSummary (EventLists laid out as in
 * queue_callcenter.raw, ActionID last in each item), QueuePause, QueueAdd,
 * QueueRemove, QueuePenalty (messages of Asterisk's app_queue.c).
 */
#include "pbx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void list_complete(sim_buf *b, const char *event, const char *id, int n)
{
    sim_buf_printf(b, "Event: %s\r\n", event);
    if (id)
        sim_hdr(b, "ActionID", id);
    sim_buf_printf(b, "EventList: Complete\r\nListItems: %d\r\n\r\n", n);
}

static void end_item(sim_buf *b, const char *id)
{
    if (id)
        sim_hdr(b, "ActionID", id);
    sim_buf_append(b, "\r\n", 2);
}

static int waiting(const sim_queue *q)
{
    int n = 0;
    for (const sim_qcaller *c = q->callers; c; c = c->next)
        n += !c->member;
    return n;
}

void sim_action_queuestatus(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *qf = ami_packet_get(p, "Queue");
    const char *mf = ami_packet_get(p, "Member");
    uint64_t now = sim_now_ms();
    sim_send_list_start(c, id, "Queue status will follow");
    sim_buf b = {0};
    int n = 0;
    for (const sim_queue *q = c->sim->pbx->queues; q; q = q->next) {
        if (qf && *qf && strcmp(qf, q->name) != 0)
            continue;
        float sl = q->completed ? 100.0f * (float)q->completed_insl / (float)q->completed : 0;
        int all = q->completed + q->abandoned;
        float sl2 = all ? 100.0f * (float)(q->completed_insl + q->abandoned_insl) / (float)all : 0;
        sim_buf_puts(&b, "Event: QueueParams\r\n");
        sim_hdr(&b, "Queue", q->name);
        sim_buf_printf(&b,
                       "Max: %d\r\nStrategy: %s\r\nCalls: %d\r\nHoldtime: %d\r\nTalkTime: %d\r\n"
                       "Completed: %d\r\nAbandoned: %d\r\nServiceLevel: %d\r\n"
                       "ServicelevelPerf: %2.1f\r\nServicelevelPerf2: %2.1f\r\nWeight: %d\r\n",
                       q->max, q->strategy, waiting(q), q->holdtime, q->talktime, q->completed,
                       q->abandoned, q->servicelevel, (double)sl, (double)sl2, q->weight);
        end_item(&b, id);
        n++;
        for (const sim_qmember *m = q->members; m; m = m->next) {
            if (mf && *mf && strcmp(mf, m->iface) != 0 && strcmp(mf, m->name) != 0)
                continue;
            sim_buf_puts(&b, "Event: QueueMember\r\n");
            sim_hdr(&b, "Queue", q->name);
            sim_hdr(&b, "Name", m->name);
            sim_hdr(&b, "Location", m->iface);
            sim_hdr(&b, "StateInterface", m->state_iface);
            sim_buf_printf(&b,
                           "Membership: %s\r\nPenalty: %d\r\nCallsTaken: %d\r\nLastCall: %ld\r\n"
                           "LastPause: %ld\r\nLoginTime: %ld\r\nInCall: %d\r\nStatus: %d\r\n"
                           "Paused: %d\r\n",
                           m->dynamic ? "dynamic" : "static", m->penalty, m->calls_taken,
                           m->last_call, m->last_pause, m->login_time, m->in_call, m->status,
                           m->paused);
            sim_hdr(&b, "PausedReason", m->reason);
            sim_buf_printf(&b, "Wrapuptime: %d\r\n", m->wrapuptime);
            end_item(&b, id);
            n++;
        }
        int pos = 0;
        for (const sim_qcaller *qc = q->callers; qc; qc = qc->next) {
            if (qc->member)
                continue;
            const sim_chan *ch = qc->chan;
            sim_buf_puts(&b, "Event: QueueEntry\r\n");
            sim_hdr(&b, "Queue", q->name);
            sim_buf_printf(&b, "Position: %d\r\n", ++pos);
            sim_hdr(&b, "Channel", ch->name);
            sim_hdr(&b, "Uniqueid", ch->uniqueid);
            sim_hdr(&b, "CallerIDNum", ch->cid_num);
            sim_hdr(&b, "CallerIDName", ch->cid_name);
            sim_hdr(&b, "ConnectedLineNum", ch->conn_num);
            sim_hdr(&b, "ConnectedLineName", ch->conn_name);
            sim_buf_printf(&b, "Wait: %u\r\nPriority: 0\r\n",
                           (unsigned)((now - qc->joined_ms) / 1000u));
            end_item(&b, id);
            n++;
        }
    }
    list_complete(&b, "QueueStatusComplete", id, n);
    sim_conn_send(c, b.data, b.len);
    sim_buf_free(&b);
}

void sim_action_queuesummary(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *qf = ami_packet_get(p, "Queue");
    uint64_t now = sim_now_ms();
    sim_send_list_start(c, id, "Queue summary will follow");
    sim_buf b = {0};
    int n = 0;
    for (const sim_queue *q = c->sim->pbx->queues; q; q = q->next) {
        if (qf && *qf && strcmp(qf, q->name) != 0)
            continue;
        int logged = 0, avail = 0;
        for (const sim_qmember *m = q->members; m; m = m->next) {
            logged += m->status != 5;
            avail += !m->paused && m->status == 1 && !m->leg;
        }
        unsigned longest = 0;
        for (const sim_qcaller *qc = q->callers; qc; qc = qc->next)
            if (!qc->member && (now - qc->joined_ms) / 1000u > longest)
                longest = (unsigned)((now - qc->joined_ms) / 1000u);
        sim_buf_puts(&b, "Event: QueueSummary\r\n");
        sim_hdr(&b, "Queue", q->name);
        sim_buf_printf(&b,
                       "LoggedIn: %d\r\nAvailable: %d\r\nCallers: %d\r\nHoldTime: %d\r\n"
                       "TalkTime: %d\r\nLongestHoldTime: %u\r\n",
                       logged, avail, waiting(q), q->holdtime, q->talktime, longest);
        end_item(&b, id);
        n++;
    }
    list_complete(&b, "QueueSummaryComplete", id, n);
    sim_conn_send(c, b.data, b.len);
    sim_buf_free(&b);
}

static int truthy(const char *v)
{
    return strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0 ||
           strcasecmp(v, "on") == 0;
}

static void pause_device(sim *s, const sim_queue *q, const sim_qmember *m)
{
    char dev[260];
    snprintf(dev, sizeof dev, "Queue:%s_pause_%s", q->name, m->iface);
    sim_devstate_set(s, dev, m->paused ? "INUSE" : "NOT_INUSE");
}

void sim_action_queuepause(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *iface = ami_packet_get(p, "Interface");
    const char *paused = ami_packet_get(p, "Paused");
    const char *qn = ami_packet_get(p, "Queue");
    const char *reason = ami_packet_get(p, "Reason");
    if (!iface || !*iface || !paused || !*paused) {
        sim_send_error(c, id, "Need 'Interface' and 'Paused' parameters.");
        return;
    }
    int on = truthy(paused);
    int found = 0;
    for (sim_queue *q = s->pbx->queues; q; q = q->next) {
        if (qn && *qn && strcmp(qn, q->name) != 0)
            continue;
        found += sim_qmember_find(q, iface) != NULL;
    }
    if (!found) {
        sim_send_error(c, id, "Interface not found");
        return;
    }
    sim_send_ack(c, id, on ? "Interface paused successfully" : "Interface unpaused successfully");
    for (sim_queue *q = s->pbx->queues; q; q = q->next) {
        if (qn && *qn && strcmp(qn, q->name) != 0)
            continue;
        sim_qmember *m = sim_qmember_find(q, iface);
        if (!m)
            continue;
        m->paused = on;
        snprintf(m->reason, sizeof m->reason, "%s", reason ? reason : "");
        if (on)
            m->last_pause = (long)time(NULL);
        pause_device(s, q, m);
        sim_queue_avail_state(s, q);
        sim_qmember_event(s, "QueueMemberPause", q, m);
    }
    if (!on)
        s->pbx->dispatch_due = 1;
}

void sim_action_queueadd(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *qn = ami_packet_get(p, "Queue");
    const char *iface = ami_packet_get(p, "Interface");
    const char *pen = ami_packet_get(p, "Penalty");
    const char *paused = ami_packet_get(p, "Paused");
    const char *name = ami_packet_get(p, "MemberName");
    const char *st = ami_packet_get(p, "StateInterface");
    const char *reason = ami_packet_get(p, "Reason");
    if (!qn || !*qn) {
        sim_send_error(c, id, "'Queue' not specified.");
        return;
    }
    if (!iface || !*iface) {
        sim_send_error(c, id, "'Interface' not specified.");
        return;
    }
    sim_queue *q = sim_queue_find(s, qn);
    if (!q) {
        sim_send_error(c, id, "Unable to add interface to queue: No such queue");
        return;
    }
    if (sim_qmember_find(q, iface)) {
        sim_send_error(c, id, "Unable to add interface: Already there");
        return;
    }
    size_t count = 0;
    for (const sim_qmember *m = q->members; m; m = m->next)
        count++;
    if (count >= SIM_QUEUE_MAX_MEMBERS) {
        /* A client adding members without end must not grow the sim
         * without bound; Asterisk's own answer for a failed allocation. */
        sim_send_error(c, id, "Out of memory");
        return;
    }
    int penalty = pen && *pen ? atoi(pen) : 0;
    if (penalty < 0)
        penalty = 0;
    sim_send_ack(c, id, "Added interface to queue");
    sim_qmember *m = sim_qmember_add(q, iface, name);
    m->dynamic = 1;
    m->penalty = penalty;
    m->paused = paused && truthy(paused);
    if (st && *st)
        snprintf(m->state_iface, sizeof m->state_iface, "%s", st);
    if (m->paused) {
        m->last_pause = m->login_time;
        snprintf(m->reason, sizeof m->reason, "%s", reason ? reason : "");
        pause_device(s, q, m);
    }
    sim_qmember_event(s, "QueueMemberAdded", q, m);
    if (!m->paused)
        s->pbx->dispatch_due = 1;
}

void sim_action_queueremove(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *qn = ami_packet_get(p, "Queue");
    const char *iface = ami_packet_get(p, "Interface");
    if (!qn || !*qn || !iface || !*iface) {
        sim_send_error(c, id, "Need 'Queue' and 'Interface' parameters.");
        return;
    }
    sim_queue *q = sim_queue_find(s, qn);
    if (!q) {
        sim_send_error(c, id, "Unable to remove interface from queue: No such queue");
        return;
    }
    sim_qmember *m = sim_qmember_find(q, iface);
    if (!m) {
        sim_send_error(c, id, "Unable to remove interface: Not there");
        return;
    }
    if (!m->dynamic) {
        sim_send_error(c, id, "Member not dynamic");
        return;
    }
    sim_send_ack(c, id, "Removed interface from queue");
    sim_qmember_event(s, "QueueMemberRemoved", q, m);
    int was_paused = m->paused;
    m->paused = 0;
    if (was_paused)
        pause_device(s, q, m);
    /* A caller talking to the removed member stays bridged, no longer
     * tracked by the queue. */
    for (sim_qcaller **pp = &q->callers; *pp;) {
        if ((*pp)->member == m) {
            sim_qcaller *qc = *pp;
            *pp = qc->next;
            free(qc);
        } else {
            pp = &(*pp)->next;
        }
    }
    for (sim_qmember **pp = &q->members; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    free(m);
}

void sim_action_queuepenalty(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *iface = ami_packet_get(p, "Interface");
    const char *pen = ami_packet_get(p, "Penalty");
    const char *qn = ami_packet_get(p, "Queue");
    if (!iface || !*iface || !pen || !*pen) {
        sim_send_error(c, id, "Need 'Interface' and 'Penalty' parameters.");
        return;
    }
    char *end;
    long v = strtol(pen, &end, 10);
    int found = 0;
    for (sim_queue *q = s->pbx->queues; q; q = q->next)
        if ((!qn || !*qn || strcmp(qn, q->name) == 0) && sim_qmember_find(q, iface))
            found = 1;
    if (*end || v < 0 || v > 1000000 || !found) {
        sim_send_error(c, id, "Invalid interface, queuename or penalty");
        return;
    }
    sim_send_ack(c, id, "Interface penalty set successfully");
    for (sim_queue *q = s->pbx->queues; q; q = q->next) {
        if (qn && *qn && strcmp(qn, q->name) != 0)
            continue;
        sim_qmember *m = sim_qmember_find(q, iface);
        if (!m)
            continue;
        m->penalty = (int)v;
        sim_qmember_event(s, "QueueMemberPenalty", q, m);
    }
}
