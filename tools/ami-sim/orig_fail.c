/* Originate failure paths and ChannelId/OtherChannelId; see orig_fail.h. */
#include "orig_fail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How soon a refused call is reported (the real server needs a few ms to
 * find out), and the no-answer wait when the Originate has no Timeout
 * (manager.c's default). */
#define FAIL_DELAY_MS      10
#define DEFAULT_TIMEOUT_MS 30000

typedef struct sim_failure {
    struct sim_failure *next;
    unsigned conn;
    char *action_id;
    int async;
    int reason;
    uint64_t at;
    char channel[128], context[64], exten[64], uniqueid[160], cid_num[64], cid_name[64];
} sim_failure;

/* One simulator per process: the pending failures live here rather than
 * in struct sim, so this stays one file. */
static sim_failure *pending;

static int async_of(const ami_packet *p)
{
    const char *v = ami_packet_get(p, "Async");
    return v && (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0 ||
                 strcasecmp(v, "on") == 0);
}

/* The failure reason of a destination, or -1 when it is reachable. */
static int reason_of(const char *chan, int *delay_ms, const ami_packet *p)
{
    *delay_ms = FAIL_DELAY_MS;
    if (strcasecmp(chan, "Sim/busy") == 0)
        return 5;
    if (strcasecmp(chan, "Sim/congestion") == 0)
        return 8;
    if (strcasecmp(chan, "Sim/noanswer") == 0) {
        const char *t = ami_packet_get(p, "Timeout");
        int ms = t && *t ? atoi(t) : DEFAULT_TIMEOUT_MS;
        *delay_ms = ms > 0 ? ms : DEFAULT_TIMEOUT_MS;
        return 3;
    }
    if (strncasecmp(chan, "Local/", 6) != 0)
        return -1;
    const char *at = strchr(chan + 6, '@');
    if (!at)
        return -1;
    char exten[64], ctx[64];
    snprintf(exten, sizeof exten, "%.*s", (int)(at - chan - 6), chan + 6);
    snprintf(ctx, sizeof ctx, "%s", at + 1);
    char *sl = strchr(ctx, '/');
    if (sl)
        *sl = '\0';
    size_t n;
    const sim_prio *plan = sim_dialplan(&n);
    int have_ctx = strcmp(ctx, "test") == 0; /* the one context the dialplan holds */
    if (!have_ctx)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(plan[i].exten, exten) == 0)
            return -1;
    return 0; /* "No such extension/context": the Local channel fails */
}

int sim_originate_failure(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *chan = ami_packet_get(p, "Channel");
    int delay;
    int reason = chan ? reason_of(chan, &delay, p) : -1;
    if (reason < 0)
        return 0;
    sim_failure *f = sim_xmalloc(sizeof *f);
    memset(f, 0, sizeof *f);
    f->conn = c->id;
    f->action_id = id ? sim_xstrdup(id) : NULL;
    f->async = async_of(p);
    f->reason = reason;
    f->at = sim_now_ms() + (uint64_t)delay;
    const char *ctx = ami_packet_get(p, "Context");
    const char *exten = ami_packet_get(p, "Exten");
    const char *cid = ami_packet_get(p, "CallerID");
    const char *uid = ami_packet_get(p, "ChannelId");
    snprintf(f->channel, sizeof f->channel, "%s", chan);
    snprintf(f->context, sizeof f->context, "%s", ctx && *ctx ? ctx : "default");
    snprintf(f->exten, sizeof f->exten, "%s", exten && *exten ? exten : "s");
    snprintf(f->uniqueid, sizeof f->uniqueid, "%s", uid && *uid ? uid : "<null>");
    /* CallerID "Name <num>" or a bare number. */
    snprintf(f->cid_num, sizeof f->cid_num, "<unknown>");
    snprintf(f->cid_name, sizeof f->cid_name, "<unknown>");
    if (cid && *cid) {
        const char *lt = strchr(cid, '<'), *gt = lt ? strchr(lt, '>') : NULL;
        if (lt && gt) {
            snprintf(f->cid_num, sizeof f->cid_num, "%.*s", (int)(gt - lt - 1), lt + 1);
            size_t nl = (size_t)(lt - cid);
            while (nl && (cid[nl - 1] == ' ' || cid[nl - 1] == '"'))
                nl--;
            size_t st = cid[0] == '"' ? 1 : 0;
            if (nl > st)
                snprintf(f->cid_name, sizeof f->cid_name, "%.*s", (int)(nl - st), cid + st);
        } else {
            snprintf(f->cid_num, sizeof f->cid_num, "%s", cid);
        }
    }
    f->next = pending;
    pending = f;
    c->sim->calls_processed++;
    if (f->async)
        sim_send_ack(c, id, "Originate successfully queued");
    else
        c->busy = 1; /* the answer waits for the outcome, as in manager.c */
    return 1;
}

static void fire(sim *s, sim_failure *f)
{
    sim_conn *owner = sim_conn_by_id(s, f->conn);
    if (!f->async) {
        if (owner) {
            sim_send_error(owner, f->action_id, "Originate failed");
            owner->busy = 0;
            sim_conn_resume(owner);
        }
        return;
    }
    sim_buf b = {0};
    sim_buf_puts(&b, "Event: OriginateResponse\r\nPrivilege: call,all\r\n");
    if (f->action_id)
        sim_hdr(&b, "ActionID", f->action_id);
    sim_buf_printf(&b,
                   "Response: Failure\r\nChannel: %s\r\nContext: %s\r\nExten: %s\r\nReason: %d\r\n"
                   "Uniqueid: %s\r\nCallerIDNum: %s\r\nCallerIDName: %s\r\n\r\n",
                   f->channel, f->context, f->exten, f->reason, f->uniqueid, f->cid_num,
                   f->cid_name);
    sim_broadcast(s, SIM_CALL, b.data, b.len);
    sim_buf_free(&b);
}

void sim_failures_run(sim *s, uint64_t now)
{
    for (;;) {
        sim_failure **pp = &pending, *due = NULL;
        for (; *pp; pp = &(*pp)->next)
            if ((*pp)->at <= now) {
                due = *pp;
                *pp = due->next;
                break;
            }
        if (!due)
            return;
        fire(s, due);
        free(due->action_id);
        free(due);
    }
}

uint64_t sim_failures_next_deadline(void)
{
    uint64_t d = AMI_NO_DEADLINE;
    for (const sim_failure *f = pending; f; f = f->next)
        if (f->at < d)
            d = f->at;
    return d;
}

void sim_failures_free(void)
{
    while (pending) {
        sim_failure *f = pending;
        pending = f->next;
        free(f->action_id);
        free(f);
    }
}

void sim_originate_ids(sim *s, sim_call *call, const ami_packet *p)
{
    (void)s;
    const char *one = ami_packet_get(p, "ChannelId");
    const char *two = ami_packet_get(p, "OtherChannelId");
    if (one && *one && call->one) {
        snprintf(call->one->uniqueid, sizeof call->one->uniqueid, "%s", one);
        snprintf(call->one->linkedid, sizeof call->one->linkedid, "%s", one);
        if (call->two)
            snprintf(call->two->linkedid, sizeof call->two->linkedid, "%s", one);
    }
    if (two && *two && call->two)
        snprintf(call->two->uniqueid, sizeof call->two->uniqueid, "%s", two);
}
