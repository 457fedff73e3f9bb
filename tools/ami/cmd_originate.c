/* `ami originate Key=Value ... [--wait]`: an Async Originate with its
 * channels' Uniqueids chosen up front (libami's ami/originate.h); with
 * --wait, the OriginateResponse and then the call, step by step, to its
 * hangup, and an exit status that says how it ended. */
#include "conn.h"
#include "record.h"

#include <ami/originate.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Exit statuses of --wait beyond the common ones (tool.h): documented in
 * --help, ami.1 and docs/ami.md. */
#define EXIT_BUSY   6
#define EXIT_FAILED 7

/* Manager's wait for an answer when the Originate has no Timeout. */
#define DEFAULT_ORIGINATE_MS 30000

typedef struct follow {
    tool_opts *o;
    ami_originate_info info;
    char uid[AMI_ORIGINATE_ID_MAX + 96]; /* the Uniqueid followed */
    int seen_new, seen_up, hung_up;
    int cause;
    char cause_txt[96];
    json_t *steps; /* -f json: collected, printed as one array */
} follow;

/* A server value on one output line: control bytes become '?'. */
static void clean(char *dst, size_t n, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < n; i++)
        dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    dst[i] = '\0';
}

/* One step: text "step: detail" or a JSON object {"step": ..., fields}. */
static void step(follow *f, const char *name, const char *text, json_t *obj)
{
    if (f->o->format == TOOL_FORMAT_TEXT) {
        printf("%s: %s\n", name, text);
        fflush(stdout);
        json_decref(obj);
        return;
    }
    json_t *o = json_object();
    if (!o)
        tool_oom();
    json_object_set_new(o, "step", json_string(name));
    if (obj)
        json_object_update(o, obj);
    json_decref(obj);
    if (f->o->format == TOOL_FORMAT_JSON) {
        json_array_append_new(f->steps, o);
        return;
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        tool_oom();
    printf("%s\n", s);
    fflush(stdout);
    free(s);
}

static json_t *jstr_clean(const char *s)
{
    char buf[512];
    clean(buf, sizeof buf, s ? s : "");
    json_t *j = json_string(buf);
    return j ? j : json_string("?");
}

static int is_ours(const follow *f, const ami_packet *ev)
{
    const char *uid = ami_packet_get(ev, "Uniqueid");
    return uid && strcmp(uid, f->uid) == 0;
}

/* Events of the followed channel: Newchannel, Newstate Up, Hangup. */
static void on_event(ami_session *s, const ami_packet *ev, void *ud)
{
    (void)s;
    follow *f = ud;
    const char *name = ami_packet_event_name(ev);
    if (!name || !is_ours(f, ev) || f->hung_up)
        return;
    char chan[256];
    clean(chan, sizeof chan, ami_packet_get(ev, "Channel"));
    if (strcasecmp(name, "Newchannel") == 0 && !f->seen_new) {
        f->seen_new = 1;
        step(f, "channel", chan, json_pack("{s:o}", "channel", jstr_clean(chan)));
    } else if (strcasecmp(name, "Newstate") == 0 && !f->seen_up) {
        const char *st = ami_packet_get(ev, "ChannelState");
        if (st && strcmp(st, "6") == 0) {
            f->seen_up = 1;
            step(f, "up", chan, json_pack("{s:o}", "channel", jstr_clean(chan)));
        }
    } else if (strcasecmp(name, "Hangup") == 0) {
        f->hung_up = 1;
        const char *c = ami_packet_get(ev, "Cause");
        f->cause = c ? atoi(c) : -1;
        clean(f->cause_txt, sizeof f->cause_txt, ami_packet_get(ev, "Cause-txt"));
        char text[512];
        snprintf(text, sizeof text, "%s, Cause %d (%s)", chan, f->cause, f->cause_txt);
        step(f, "hangup", text,
             json_pack("{s:o,s:i,s:o}", "channel", jstr_clean(chan), "cause", f->cause, "cause_txt",
                       jstr_clean(f->cause_txt)));
    }
}

static int exit_for_reason(int reason)
{
    switch (reason) {
    case AMI_ORIGINATE_ANSWERED:
        return TOOL_EXIT_OK;
    case AMI_ORIGINATE_BUSY:
        return EXIT_BUSY;
    case AMI_ORIGINATE_NO_ANSWER:
        return TOOL_EXIT_TIMEOUT;
    default:
        return EXIT_FAILED;
    }
}

static int wait_ms(const tool_opts *o, const ami_action *a)
{
    if (o->timeout_ms < 0)
        return -1;
    const char *t = ami_action_get(a, "Timeout");
    long ms = t && *t ? strtol(t, NULL, 10) : DEFAULT_ORIGINATE_MS;
    if (ms < 0 || ms > 86400000L)
        ms = DEFAULT_ORIGINATE_MS;
    return (int)ms + o->timeout_ms;
}

static int run(follow *f, ami_client *c, ami_action *a)
{
    tool_opts *o = f->o;
    ami_packet *resp = NULL;
    int wms = o->wait ? wait_ms(o, a) : o->timeout_ms;
    int rc;
    if (o->wait) {
        /* ChannelId is known before the call is: follow it from the first
         * event on (Newchannel comes before the OriginateResponse). */
        rc = ami_originate_prepare(a, &f->info);
        if (rc == 0)
            snprintf(f->uid, sizeof f->uid, "%s", f->info.channel_id);
        if (rc == 0)
            rc = ami_client_originate(c, a, wms, &f->info, &resp, on_event, f);
    } else {
        rc = ami_originate_prepare(a, &f->info);
        ami_result *r = NULL;
        if (rc == 0)
            rc = ami_client_call(c, a, wms, &r);
        if (r && ami_result_action_id(r))
            snprintf(f->info.action_id, sizeof f->info.action_id, "%s", ami_result_action_id(r));
        if (rc == AMI_ERR_ACTION_FAILED) {
            tool_err("Originate failed: %s", ami_result_message(r));
            ami_result_free(r);
            return TOOL_EXIT_ACTION_FAILED;
        }
        ami_result_free(r);
    }
    if (rc == AMI_ERR_ACTION_FAILED && !resp) {
        tool_err("Originate failed: %s", ami_client_errmsg(c));
        return TOOL_EXIT_ACTION_FAILED;
    }
    if (rc == AMI_ERR_TIMEOUT) {
        tool_err("no OriginateResponse within %d ms (the Originate's Timeout plus --timeout) — "
                 "raise Timeout= or --timeout",
                 wms);
        return TOOL_EXIT_TIMEOUT;
    }
    if (rc && rc != AMI_ERR_ACTION_FAILED)
        return tool_conn_call_failed(o, c, "Originate", rc, NULL);
    if (!o->wait || !resp) {
        char text[400];
        snprintf(text, sizeof text, "ActionID %s, ChannelId %s, OtherChannelId %s",
                 f->info.action_id, f->info.channel_id, f->info.other_channel_id);
        step(f, "queued", text,
             json_pack("{s:s,s:s,s:s}", "action_id", f->info.action_id, "channel_id",
                       f->info.channel_id, "other_channel_id", f->info.other_channel_id));
        return TOOL_EXIT_OK;
    }
    int reason = ami_originate_reason(resp);
    char r_resp[32], chan[256], text[512];
    clean(r_resp, sizeof r_resp, ami_packet_get(resp, "Response"));
    clean(chan, sizeof chan, ami_packet_get(resp, "Channel"));
    snprintf(text, sizeof text, "%s, Reason %d (%s), %s", r_resp, reason,
             ami_originate_reason_text(reason), chan);
    step(f, "response", text,
         json_pack("{s:o,s:i,s:s,s:o}", "response", jstr_clean(r_resp), "reason", reason,
                   "reason_text", ami_originate_reason_text(reason), "channel", jstr_clean(chan)));
    int code = rc == 0 ? TOOL_EXIT_OK : exit_for_reason(reason == 4 ? -1 : reason);
    /* A server that did not take ChannelId names the channel in the
     * response's Uniqueid: follow that one. */
    const char *uid = ami_packet_get(resp, "Uniqueid");
    if (rc == 0 && uid && *uid && strcmp(uid, "<null>") != 0 && strcmp(uid, f->uid) != 0 &&
        !f->seen_new)
        snprintf(f->uid, sizeof f->uid, "%s", uid);
    ami_packet_free(resp);
    /* The call lasts as long as it lasts: no limit but the connection. */
    while (rc == 0 && !f->hung_up) {
        ami_packet *ev = NULL;
        int got = ami_client_next_event(c, -1, &ev);
        if (got < 0) {
            tool_err("%s while following the call — check the server", ami_client_errmsg(c));
            return tool_exit_for(got);
        }
        if (got > 0) {
            on_event(NULL, ev, f);
            ami_packet_free(ev);
        }
    }
    const char *result = rc == 0 ? "answered" : ami_originate_reason_text(reason);
    if (rc == 0) {
        snprintf(text, sizeof text, "answered, hung up with Cause %d (%s)", f->cause, f->cause_txt);
        step(f, "end", text,
             json_pack("{s:s,s:i,s:i}", "result", result, "cause", f->cause, "exit", code));
    } else {
        snprintf(text, sizeof text, "%s (Reason %d)", result, reason);
        step(f, "end", text,
             json_pack("{s:s,s:i,s:i}", "result", result, "reason", reason, "exit", code));
    }
    return code;
}

int tool_cmd_originate(tool_opts *o)
{
    ami_action *a = NULL;
    /* args[0] is the name slot of tool_action_build: the arguments start
     * at o->args[0], so pass the array one back. */
    int nargs = o->nargs + 1;
    char **args = tool_xrealloc(NULL, (size_t)nargs * sizeof *args);
    args[0] = (char *)"Originate";
    for (int i = 0; i < o->nargs; i++)
        args[i + 1] = o->args[i];
    int rc = tool_action_build("Originate", args, nargs, &a);
    free(args);
    if (rc)
        return rc;
    if (!ami_action_get(a, "Channel")) {
        ami_action_free(a);
        tool_err("originate: missing Channel= — e.g. ami originate Channel=PJSIP/100 "
                 "Context=default Exten=200 Priority=1");
        return TOOL_EXIT_USAGE;
    }
    rc = tool_conn_settle(o);
    ami_client *c = NULL;
    tool_record *rec = NULL;
    if (rc == 0)
        rc = tool_record_open(o, &rec);
    if (rc == 0)
        rc = tool_conn_open_rec(o, o->events_mask ? o->events_mask : (o->wait ? "call" : "off"),
                                rec, &c);
    if (rc) {
        tool_record_close(rec);
        ami_action_free(a);
        return rc;
    }
    follow f;
    memset(&f, 0, sizeof f);
    f.o = o;
    if (o->format == TOOL_FORMAT_JSON && !(f.steps = json_array()))
        tool_oom();
    int code = run(&f, c, a);
    if (f.steps) {
        json_dumpf(f.steps, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(f.steps);
    }
    ami_action_free(a);
    tool_conn_close(o, c);
    int rcode = tool_record_close(rec);
    return code ? code : rcode;
}
