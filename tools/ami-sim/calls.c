/*
 * Originate and Hangup over simulated calls. A call to Local/EXTEN@CONTEXT
 * runs in three phases on the loop's clock, with the event sequence of
 * originate_events.raw (trimmed of its second Dial):
 *   setup (at once)  Newchannel x2, VarSet, NewCallerid/NewConnectedLine,
 *                    LocalBridge, DialBegin, Newexten Answer, Newstate Up,
 *                    DeviceStateChange, DialEnd;
 *   answer (+10 ms)  Newexten at the destination, OriginateResponse,
 *                    BridgeCreate, BridgeEnter x2, VarSet BRIDGEPEER;
 *   hangup (+--call-duration, or a Hangup action)  SoftHangupRequest,
 *                    HangupRequest, BridgeLeave, Hangup x2, BridgeDestroy,
 *                    Cdr x2, DeviceStateChange.
 * With an Application the ;2 instead runs its extension after the answer
 * (pbx.c: Queue, Dial, MusicOnHold, ParkedCall); bridges, queues, parking
 * and hold music are told of every hang-up first (sim_pbx_on_hangup).
 */
#include "orig_fail.h"
#include "pbx.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ANSWER_DELAY_MS 10

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

static const char *cause_text(int cause)
{
    switch (cause) {
    case 16:
        return "Normal Clearing";
    case 17:
        return "User busy";
    case 18:
        return "No user responding";
    case 19:
        return "User alerting, no answer";
    case 21:
        return "Call Rejected";
    default:
        return "Unknown";
    }
}

static void dial_event(sim *s, const char *name, const sim_chan *dest, const char *extra)
{
    sim_buf b = {0};
    sim_buf_printf(&b, "Event: %s\r\nPrivilege: call,all\r\n", name);
    sim_chan_headers(&b, "Dest", dest);
    sim_buf_puts(&b, extra);
    sim_buf_append(&b, "\r\n", 2);
    sim_broadcast(s, SIM_CALL, b.data, b.len);
    sim_buf_free(&b);
}

static void device_event(sim *s, const sim_call *call, const char *state)
{
    sim_buf b = {0};
    sim_buf_printf(
        &b, "Event: DeviceStateChange\r\nPrivilege: call,all\r\nDevice: %s\r\nState: %s\r\n\r\n",
        call->device, state);
    sim_broadcast(s, SIM_CALL, b.data, b.len);
    sim_buf_free(&b);
}

static void newstate(sim *s, sim_chan *ch, int state)
{
    ch->state = state;
    sim_chan_event(s, SIM_CALL, "Newstate", ch, NULL);
}

static void set_callerid(sim *s, sim_chan *ch, const char *num, const char *name)
{
    snprintf(ch->cid_num, sizeof ch->cid_num, "%s", num);
    snprintf(ch->cid_name, sizeof ch->cid_name, "%s", name);
    sim_chan_event(s, SIM_CALL, "NewCallerid", ch,
                   "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n");
    snprintf(ch->conn_num, sizeof ch->conn_num, "%s", num);
    snprintf(ch->conn_name, sizeof ch->conn_name, "%s", name);
    sim_chan_event(s, SIM_CALL, "NewConnectedLine", ch, NULL);
}

/* "Name" <number>, Name <number>, or a bare number. */
static void parse_callerid(const char *cid, char *num, size_t nn, char *name, size_t nl)
{
    num[0] = name[0] = '\0';
    const char *lt = strchr(cid, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt) {
        snprintf(num, nn, "%.*s", (int)(gt - lt - 1), lt + 1);
        const char *a = cid, *e = lt;
        while (a < e && (isspace((unsigned char)*a) || *a == '"'))
            a++;
        while (e > a && (isspace((unsigned char)e[-1]) || e[-1] == '"'))
            e--;
        snprintf(name, nl, "%.*s", (int)(e - a), a);
    } else {
        snprintf(num, nn, "%s", cid);
    }
}

static void local_bridge(sim *s, const sim_call *call, const char *ctx, const char *exten)
{
    sim_buf b = {0};
    sim_buf_puts(&b, "Event: LocalBridge\r\nPrivilege: call,all\r\n");
    sim_chan_headers(&b, "LocalOne", call->one);
    sim_chan_headers(&b, "LocalTwo", call->two);
    sim_buf_printf(&b, "Context: %s\r\nExten: %s\r\nLocalOptimization: Yes\r\n\r\n", ctx, exten);
    sim_broadcast(s, SIM_CALL, b.data, b.len);
    sim_buf_free(&b);
}

static const sim_prio *plan_find(const char *ctx, const char *exten, int prio)
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

static void answer_events(sim *s, sim_call *call)
{
    sim_chan *one = call->one, *two = call->two;
    call->answered = 1;
    if (call->dest_app[0]) {
        snprintf(one->app, sizeof one->app, "%s", call->dest_app);
        snprintf(one->appdata, sizeof one->appdata, "%s", call->dest_data);
    } else {
        snprintf(one->context, sizeof one->context, "%s", call->dest_context);
        snprintf(one->exten, sizeof one->exten, "%s", call->dest_exten);
        const sim_prio *pr = plan_find(one->context, one->exten, one->priority);
        sim_newexten(s, one, pr ? pr->app : "NoOp", pr ? pr->data : "");
    }
    sim_conn *owner = sim_conn_by_id(s, call->owner_conn);
    if (!call->async) {
        if (owner) {
            sim_send_ack(owner, call->action_id, "Originate successfully queued");
            owner->busy = 0;
        }
    } else {
        sim_buf b = {0};
        sim_buf_puts(&b, "Event: OriginateResponse\r\nPrivilege: call,all\r\n");
        if (call->action_id)
            sim_hdr(&b, "ActionID", call->action_id);
        sim_buf_printf(&b,
                       "Response: Success\r\nChannel: %s\r\nContext: %s\r\nExten: %s\r\n"
                       "Reason: 4\r\nUniqueid: %s\r\nCallerIDNum: %s\r\nCallerIDName: %s\r\n\r\n",
                       one->name, call->dest_context, call->dest_exten, one->uniqueid, one->cid_num,
                       one->cid_name);
        sim_broadcast(s, SIM_CALL, b.data, b.len);
        sim_buf_free(&b);
    }
    if (two && call->dest_app[0])
        sim_pbx_on_answer(s, call); /* the ;2 runs its extension: Queue, Dial, ... */
    if (!two || call->dest_app[0])
        return;
    /* Both halves meet in one basic bridge, so clients see the Bridge*
     * events with one consistent BridgeUniqueid. */
    sim_bridge *br = sim_bridge_new(s, "basic", 1);
    sim_bridge_enter(s, br, two);
    sim_bridge_enter(s, br, one);
    sim_chan_setvar(s, two, "BRIDGEPEER", one->name);
    sim_chan_setvar(s, one, "BRIDGEPEER", two->name);
    two->priority = 2;
    char secs[16];
    snprintf(secs, sizeof secs, "%d", (s->opt.call_duration_ms + 999) / 1000);
    sim_newexten(s, two, "Wait", secs);
}

static void phase_answer(sim *s, sim_call *call)
{
    unsigned owner_id = call->async ? 0 : call->owner_conn;
    answer_events(s, call);
    /* Only now may the originator's next actions run: one of them may
     * hang this very call up and free it. */
    sim_conn *owner = owner_id ? sim_conn_by_id(s, owner_id) : NULL;
    if (owner)
        sim_conn_resume(owner);
}

static void fmt_time(time_t t, char *buf, size_t n)
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static void cdr_event(sim *s, const sim_call *call, const sim_chan *ch)
{
    time_t end = time(NULL);
    char st[32], et[32];
    fmt_time(ch->created_wall, st, sizeof st);
    fmt_time(end, et, sizeof et);
    long dur = (long)(end - ch->created_wall);
    char callerid[160] = "";
    if (strcmp(ch->cid_num, "<unknown>") != 0)
        snprintf(callerid, sizeof callerid, "\"%s\" <%s>",
                 strcmp(ch->cid_name, "<unknown>") ? ch->cid_name : "", ch->cid_num);
    sim_buf b = {0};
    sim_buf_puts(&b, "Event: Cdr\r\nPrivilege: cdr,all\r\nAccountCode: \r\n");
    sim_hdr(&b, "Source", strcmp(ch->cid_num, "<unknown>") ? ch->cid_num : "");
    sim_hdr(&b, "Destination", ch->exten);
    sim_hdr(&b, "DestinationContext", ch->context);
    sim_hdr(&b, "CallerID", callerid);
    sim_hdr(&b, "Channel", ch->name);
    sim_buf_puts(&b, "DestinationChannel: \r\n");
    sim_hdr(&b, "LastApplication", ch->app);
    sim_hdr(&b, "LastData", ch->appdata);
    sim_hdr(&b, "StartTime", st);
    sim_hdr(&b, "AnswerTime", call->answered ? st : "");
    sim_hdr(&b, "EndTime", et);
    sim_buf_printf(&b, "Duration: %ld\r\nBillableSeconds: %ld\r\n", dur, call->answered ? dur : 0);
    sim_hdr(&b, "Disposition", call->answered ? "ANSWERED" : "NO ANSWER");
    sim_buf_puts(&b, "AMAFlags: DOCUMENTATION\r\n");
    sim_hdr(&b, "UniqueID", ch->uniqueid);
    sim_buf_puts(&b, "UserField: \r\n\r\n");
    sim_broadcast(s, SIM_CDR, b.data, b.len);
    sim_buf_free(&b);
}

static void hangup_chan(sim *s, sim_chan *ch, int cause)
{
    char extra[96];
    if (ch->bridge[0])
        sim_bridge_leave(s, ch);
    snprintf(extra, sizeof extra, "Cause: %d\r\nCause-txt: %s\r\n", cause, cause_text(cause));
    sim_chan_event(s, SIM_CALL, "Hangup", ch, extra);
}

/* Returns the id of a connection to resume once the call is freed (a
 * synchronous Originate that failed), else 0. */
static unsigned phase_hangup(sim *s, sim_call *call)
{
    unsigned resume = 0;
    char extra[32];
    int cause = call->cause ? call->cause : 16;
    snprintf(extra, sizeof extra, "Cause: %d\r\n", cause);
    sim_chan *one = call->one, *two = call->two;
    if (!call->answered && !call->async) {
        sim_conn *owner = sim_conn_by_id(s, call->owner_conn);
        if (owner) {
            sim_send_error(owner, call->action_id, "Originate failed");
            owner->busy = 0;
            resume = owner->id;
        }
    }
    sim_pbx_on_hangup(s, call);
    if (two) {
        if (!call->cause && call->answered)
            sim_newexten(s, two, "Hangup", "");
        sim_chan_event(s, SIM_CALL, "SoftHangupRequest", two, extra);
    }
    sim_chan_event(s, SIM_CALL, "HangupRequest", one, extra);
    if (two)
        hangup_chan(s, two, cause);
    hangup_chan(s, one, cause);
    if (two)
        cdr_event(s, call, two);
    cdr_event(s, call, one);
    device_event(s, call, "NOT_INUSE");
    return resume;
}

static void resume_conn(sim *s, unsigned id)
{
    sim_conn *c = id ? sim_conn_by_id(s, id) : NULL;
    if (c)
        sim_conn_resume(c);
}

static void call_free(sim *s, sim_call *call)
{
    for (sim_call **pp = &s->calls; *pp; pp = &(*pp)->next) {
        if (*pp == call) {
            *pp = call->next;
            break;
        }
    }
    if (call->two)
        sim_chan_free(s, call->two);
    sim_chan_free(s, call->one);
    free(call->action_id);
    free(call);
}

void sim_call_hangup(sim *s, sim_call *call, int cause)
{
    call->cause = cause ? cause : 16;
    unsigned resume = phase_hangup(s, call);
    call_free(s, call);
    resume_conn(s, resume);
}

static void phase_setup(sim *s, sim_call *call, const ami_packet *p, const char *ctx,
                        const char *exten)
{
    sim_chan *one = call->one, *two = call->two;
    sim_chan_event(s, SIM_CALL, "Newchannel", one, NULL);
    if (two)
        sim_chan_event(s, SIM_CALL, "Newchannel", two, NULL);
    if (two)
        sim_newexten(s, one, "AppDial2", "(Outgoing Line)");
    sim_chan *halves[2] = {one, two};
    const char *cid = ami_packet_get(p, "CallerID");
    for (int h = 0; h < 2 && halves[h]; h++) {
        size_t cur = 0, vl;
        const char *v;
        while ((v = ami_packet_next_value(p, "Variable", &cur, &vl))) {
            char name[128];
            const char *eq = memchr(v, '=', vl);
            if (!eq || eq == v)
                continue;
            snprintf(name, sizeof name, "%.*s", (int)(eq - v), v);
            sim_chan_setvar(s, halves[h], name, eq + 1);
        }
        if (cid && *cid) {
            char num[64], name[64];
            parse_callerid(cid, num, sizeof num, name, sizeof name);
            set_callerid(s, halves[h], num[0] ? num : "<unknown>", name[0] ? name : "<unknown>");
        }
    }
    if (two) {
        local_bridge(s, call, ctx, exten);
        char ds[160];
        snprintf(ds, sizeof ds, "DialString: %s@%s\r\n", exten, ctx);
        dial_event(s, "DialBegin", one, ds);
        sim_newexten(s, two, "Answer", "");
        newstate(s, two, 6);
        device_event(s, call, "INUSE");
        newstate(s, one, 6);
        dial_event(s, "DialEnd", one, "DialStatus: ANSWER\r\n");
    } else {
        newstate(s, one, 6);
        device_event(s, call, "INUSE");
    }
}

void sim_action_originate(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *chan = ami_packet_get(p, "Channel");
    const char *ctx = ami_packet_get(p, "Context");
    const char *exten = ami_packet_get(p, "Exten");
    const char *prio = ami_packet_get(p, "Priority");
    const char *timeout = ami_packet_get(p, "Timeout");
    const char *app = ami_packet_get(p, "Application");
    const char *data = ami_packet_get(p, "Data");
    const char *async = ami_packet_get(p, "Async");
    int pi = 1, to;

    if (!chan || !*chan) {
        sim_send_error(c, id, "Channel not specified");
        return;
    }
    if (prio && *prio && sscanf(prio, "%d", &pi) != 1) {
        sim_send_error(c, id, "Invalid priority");
        return;
    }
    if (timeout && *timeout && sscanf(timeout, "%d", &to) != 1) {
        sim_send_error(c, id, "Invalid timeout");
        return;
    }
    const char *slash = strchr(chan, '/');
    if (!slash || !slash[1]) {
        sim_send_error(c, id, "Invalid channel");
        return;
    }
    if (app && *app && !(c->user->writeperm & SIM_SYSTEM) &&
        (ci_contains(app, "system") || ci_contains(app, "exec") ||
         (data && (strstr(data, "SHELL") || strstr(data, "EVAL"))))) {
        sim_send_error(c, id, "Originate Access Forbidden: app or data blacklisted");
        return;
    }
    if (strlen(chan) > 80) {
        sim_send_error(c, id, "Invalid channel");
        return;
    }
    if (sim_originate_failure(c, p, id))
        return;

    sim_call *call = sim_xmalloc(sizeof *call);
    memset(call, 0, sizeof *call);
    call->owner_conn = c->id;
    call->action_id = id ? sim_xstrdup(id) : NULL;
    call->async = async && (strcasecmp(async, "true") == 0 || strcasecmp(async, "yes") == 0 ||
                            strcmp(async, "1") == 0 || strcasecmp(async, "on") == 0);
    snprintf(call->device, sizeof call->device, "%s", chan);
    if (app && *app) {
        snprintf(call->dest_app, sizeof call->dest_app, "%s", app);
        snprintf(call->dest_data, sizeof call->dest_data, "%s", data ? data : "");
    } else {
        snprintf(call->dest_context, sizeof call->dest_context, "%s",
                 ctx && *ctx ? ctx : "default");
        snprintf(call->dest_exten, sizeof call->dest_exten, "%s", exten && *exten ? exten : "s");
    }

    /* The dialled side: Local/EXTEN@CONTEXT becomes a ;1/;2 pair. */
    char lexten[64] = "s", lctx[64] = "default";
    const char *res = slash + 1;
    const char *at = strchr(res, '@');
    if (at) {
        snprintf(lexten, sizeof lexten, "%.*s", (int)(at - res), res);
        snprintf(lctx, sizeof lctx, "%s", at + 1);
        char *sl = strchr(lctx, '/'); /* Local/100@test/n options */
        if (sl)
            *sl = '\0';
    } else {
        snprintf(lexten, sizeof lexten, "%s", res);
    }
    char name[160];
    unsigned seq = s->chan_seq++;
    int local = strncasecmp(chan, "Local/", 6) == 0;
    if (local) {
        snprintf(name, sizeof name, "Local/%s@%s-%08x;1", lexten, lctx, seq);
        call->one = sim_chan_new(s, name, NULL);
        snprintf(name, sizeof name, "Local/%s@%s-%08x;2", lexten, lctx, seq);
        call->two = sim_chan_new(s, name, call->one->uniqueid);
        call->two->state = 4;
        snprintf(call->two->context, sizeof call->two->context, "%s", lctx);
        snprintf(call->two->exten, sizeof call->two->exten, "%s", lexten);
        call->two->call = call;
    } else {
        snprintf(name, sizeof name, "%s-%08x", chan, seq);
        call->one = sim_chan_new(s, name, NULL);
    }
    snprintf(call->one->context, sizeof call->one->context, "%s", lctx);
    snprintf(call->one->exten, sizeof call->one->exten, "%s", lexten);
    call->one->call = call;
    sim_originate_ids(s, call, p);
    if (!app || !*app)
        call->one->priority = 1;
    (void)pi;

    call->next = s->calls;
    s->calls = call;
    s->calls_processed++;
    if (call->async)
        sim_send_ack(c, id, "Originate successfully queued");
    else
        c->busy = 1; /* manager.c answers a synchronous Originate once answered */
    phase_setup(s, call, p, lctx, lexten);
    call->step = 1;
    call->next_at = sim_now_ms() + ANSWER_DELAY_MS;
}

void sim_calls_run(sim *s, uint64_t now)
{
    sim_failures_run(s, now);
    /* Restart the scan after each step: a step can resume a connection
     * whose next action adds or ends calls. */
    sim_pbx_tick(s, now);
    for (;;) {
        sim_call *due = NULL;
        for (sim_call *call = s->calls; call; call = call->next) {
            if (call->next_at <= now) {
                due = call;
                break;
            }
        }
        if (!due)
            return;
        if (due->step == 1) {
            due->step = 2;
            due->next_at = now + (uint64_t)s->opt.call_duration_ms;
            phase_answer(s, due);
        } else {
            unsigned resume = phase_hangup(s, due);
            call_free(s, due);
            resume_conn(s, resume);
        }
    }
}

uint64_t sim_calls_next_deadline(const sim *s)
{
    uint64_t d = sim_pbx_deadline(s);
    uint64_t f = sim_failures_next_deadline();
    if (f < d)
        d = f;
    for (const sim_call *call = s->calls; call; call = call->next)
        if (call->next_at < d)
            d = call->next_at;
    return d;
}

size_t sim_calls_active(const sim *s)
{
    size_t n = 0;
    for (const sim_call *call = s->calls; call; call = call->next)
        n++;
    return n;
}

void sim_calls_free(sim *s)
{
    sim_failures_free();
    while (s->calls)
        call_free(s, s->calls);
    while (s->chans)
        sim_chan_free(s, s->chans);
}

static int chan_matches(const char *pattern, const sim_chan *ch, regex_t *re)
{
    if (re)
        return regexec(re, ch->name, 0, NULL, 0) == 0;
    return strcmp(pattern, ch->name) == 0;
}

void sim_action_hangup(sim_conn *c, const ami_packet *p, const char *id)
{
    sim *s = c->sim;
    const char *chan = ami_packet_get(p, "Channel");
    const char *cause_s = ami_packet_get(p, "Cause");
    int cause = cause_s && *cause_s ? atoi(cause_s) : 16;
    if (!chan || !*chan) {
        sim_send_error(c, id, "No channel specified");
        return;
    }
    size_t len = strlen(chan);
    if (chan[0] != '/') {
        sim_chan *ch = sim_chan_find(s, chan);
        if (!ch) {
            sim_send_error(c, id, "No such channel");
            return;
        }
        sim_send_ack(c, id, "Channel Hungup");
        sim_call_hangup(s, ch->call, cause);
        return;
    }
    /* "/regex/": every matching channel, answered as an EventList. */
    char *pat = sim_xstrdup(chan + 1);
    if (len > 1 && chan[len - 1] == '/')
        pat[len - 2] = '\0';
    regex_t re;
    if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
        char msg[AMI_ACTION_MAX_LINE + 32];
        snprintf(msg, sizeof msg, "Regex compile failed on: %s", pat);
        sim_send_error(c, id, msg);
        free(pat);
        return;
    }
    sim_send_list_start(c, id, "Channels hung up will follow");
    sim_buf b = {0};
    int n = 0;
    sim_call **doomed = NULL;
    size_t ndoomed = 0;
    for (sim_chan *ch = s->chans; ch; ch = ch->next) {
        if (!chan_matches(pat, ch, &re))
            continue;
        n++;
        sim_buf_printf(&b, "Event: ChannelHungup\r\nChannel: %s\r\n", ch->name);
        if (id)
            sim_hdr(&b, "ActionID", id);
        sim_buf_append(&b, "\r\n", 2);
        size_t k = 0;
        while (k < ndoomed && doomed[k] != ch->call)
            k++;
        if (k == ndoomed) {
            doomed = sim_xrealloc(doomed, (ndoomed + 1) * sizeof *doomed);
            doomed[ndoomed++] = ch->call;
        }
    }
    sim_buf_puts(&b, "Event: ChannelsHungupListComplete\r\n");
    if (id)
        sim_hdr(&b, "ActionID", id);
    sim_buf_printf(&b, "EventList: Complete\r\nListItems: %d\r\n\r\n", n);
    sim_conn_send(c, b.data, b.len);
    sim_buf_free(&b);
    for (size_t k = 0; k < ndoomed; k++)
        sim_call_hangup(s, doomed[k], cause);
    free(doomed);
    regfree(&re);
    free(pat);
}
