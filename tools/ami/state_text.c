/* Readable views of a store: see state_text.h. */
#include "state_text.h"

#include "tool.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void tool_clean(char *dst, size_t n, const char *src)
{
    if (n == 0)
        return;
    size_t k = 0;
    if (src && strcmp(src, "<unknown>") != 0)
        for (; *src && k + 1 < n; src++)
            dst[k++] = ((unsigned char)*src < 0x20 || *src == 0x7f) ? '?' : *src;
    dst[k] = '\0';
}

void tool_obj_str(char *dst, size_t n, const ami_state_object *o, const char *key)
{
    tool_clean(dst, n, o ? ami_state_object_get(o, key) : NULL);
}

const char *tool_member_status(const char *code)
{
    static const char *const names[] = {"Unknown", "Not in use", "In use",
                                        "Busy",    "Invalid",    "Unavailable",
                                        "Ringing", "Ring+Inuse", "On hold"};
    if (!code || !*code)
        return "";
    char *end;
    long v = strtol(code, &end, 10);
    if (*end || v < 0 || v >= (long)(sizeof(names) / sizeof(names[0])))
        return "?";
    return names[v];
}

const char *tool_yes_no(const char *v)
{
    if (!v)
        return "";
    if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0)
        return "yes";
    return "no";
}

void tool_fmt_since(char *dst, size_t n, uint64_t now_ms, uint64_t since_ms)
{
    if (!now_ms || !since_ms || since_ms > now_ms) {
        if (n)
            dst[0] = '\0';
        return;
    }
    uint64_t s = (now_ms - since_ms) / 1000;
    if (s >= 3600)
        snprintf(dst, n, "%llu:%02u:%02u", (unsigned long long)(s / 3600), (unsigned)(s / 60 % 60),
                 (unsigned)(s % 60));
    else
        snprintf(dst, n, "%u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
}

void tool_calls_build(const ami_state *st, tool_calls *out)
{
    memset(out, 0, sizeof(*out));
    size_t n = ami_state_count(st, AMI_STATE_CHANNEL), k = 0;
    size_t ncalls = ami_state_call_count(st);
    if (n == 0 || ncalls == 0)
        return;
    out->all = tool_xrealloc(NULL, n * sizeof(*out->all));
    out->v = tool_xrealloc(NULL, ncalls * sizeof(*out->v));
    size_t cur = 0;
    const ami_state_object *head;
    while (out->n < ncalls && (head = ami_state_next_call(st, &cur)) != NULL) {
        const char *lid = ami_state_object_get(head, "Linkedid");
        tool_call *c = &out->v[out->n++];
        c->ch = &out->all[k];
        c->n = 0;
        size_t cc = 0;
        const ami_state_object *o;
        if (lid && *lid)
            while (k < n && (o = ami_state_next_in_call(st, lid, &cc)) != NULL) {
                out->all[k++] = o;
                c->n++;
            }
        if (c->n == 0 && k < n) {
            out->all[k++] = head;
            c->n = 1;
        }
    }
}

void tool_calls_free(tool_calls *c)
{
    free(c->v);
    free(c->all);
    memset(c, 0, sizeof(*c));
}

static int is_set(const ami_state_object *o, const char *key)
{
    const char *v = ami_state_object_get(o, key);
    return v && *v && strcmp(v, "<unknown>") != 0;
}

static void party(char *dst, size_t n, const ami_state_object *o, const char *num, const char *name)
{
    char a[48], b[48];
    tool_obj_str(a, sizeof(a), o, num);
    tool_obj_str(b, sizeof(b), o, name);
    if (*a && *b)
        snprintf(dst, n, "%s \"%s\"", a, b);
    else
        snprintf(dst, n, "%s", *a ? a : b);
}

void tool_call_info_get(const tool_call *c, tool_call_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!c->n)
        return;
    const ami_state_object *first = c->ch[0], *other = NULL;
    for (size_t i = 0; i < c->n; i++) {
        const char *u = ami_state_object_get(c->ch[i], "Uniqueid");
        const char *l = ami_state_object_get(c->ch[i], "Linkedid");
        if (u && l && strcmp(u, l) == 0) {
            first = c->ch[i];
            break;
        }
    }
    /* The other party: the first channel that shows a different number
     * (the two halves of a Local channel carry the caller's). */
    const char *cnum = ami_state_object_get(first, "CallerIDNum");
    for (size_t i = 0; i < c->n && !other; i++) {
        const char *n = ami_state_object_get(c->ch[i], "CallerIDNum");
        if (c->ch[i] != first && is_set(c->ch[i], "CallerIDNum") && (!cnum || strcmp(n, cnum) != 0))
            other = c->ch[i];
    }
    const char *conn = ami_state_object_get(first, "ConnectedLineNum");
    tool_obj_str(out->linkedid, sizeof(out->linkedid), first, "Linkedid");
    party(out->caller, sizeof(out->caller), first, "CallerIDNum", "CallerIDName");
    if (other)
        party(out->callee, sizeof(out->callee), other, "CallerIDNum", "CallerIDName");
    else if (is_set(first, "ConnectedLineNum") && (!cnum || strcmp(conn, cnum) != 0))
        party(out->callee, sizeof(out->callee), first, "ConnectedLineNum", "ConnectedLineName");
    else
        tool_obj_str(out->callee, sizeof(out->callee), first, "Exten");
    if (!other && c->n > 1)
        other = c->ch[0] == first ? c->ch[1] : c->ch[0];
    tool_obj_str(out->state, sizeof(out->state), first, "ChannelStateDesc");
    uint64_t created = 0, answered = 0;
    for (size_t i = 0; i < c->n; i++) {
        const ami_state_object *o = c->ch[i];
        const char *sd = ami_state_object_get(o, "ChannelStateDesc");
        if (sd && strcmp(sd, "Up") == 0)
            snprintf(out->state, sizeof(out->state), "Up");
        if (!out->bridge[0])
            tool_obj_str(out->bridge, sizeof(out->bridge), o, "BridgeId");
        uint64_t cr = ami_state_object_created(o), an = ami_state_object_answered(o);
        if (cr && (!created || cr < created))
            created = cr;
        if (an && (!answered || an < answered))
            answered = an;
    }
    out->since_ms = answered ? answered : created;
    /* What the call is doing: the first channel's application, or the
     * other's when the first has none (a Local channel's ;2 half). */
    const ami_state_object *ap = is_set(first, "Application") || !other ? first : other;
    char app[32], data[56];
    tool_obj_str(app, sizeof(app), ap, "Application");
    tool_obj_str(data, sizeof(data), ap, "ApplicationData");
    if (*app && *data)
        snprintf(out->app, sizeof(out->app), "%s(%s)", app, data);
    else
        snprintf(out->app, sizeof(out->app), "%s", app);
}

static void print_channel(FILE *f, const ami_state_object *o, uint64_t now)
{
    char name[128], st[32], who[96], to[96], app[48], data[64], br[64], dur[24];
    tool_obj_str(name, sizeof(name), o, "Channel");
    tool_obj_str(st, sizeof(st), o, "ChannelStateDesc");
    party(who, sizeof(who), o, "CallerIDNum", "CallerIDName");
    party(to, sizeof(to), o, "ConnectedLineNum", "ConnectedLineName");
    tool_obj_str(app, sizeof(app), o, "Application");
    tool_obj_str(data, sizeof(data), o, "ApplicationData");
    tool_obj_str(br, sizeof(br), o, "BridgeId");
    uint64_t an = ami_state_object_answered(o);
    tool_fmt_since(dur, sizeof(dur), now, an ? an : ami_state_object_created(o));
    fprintf(f, "    %s  %s  %s", name, *st ? st : "?", *who ? who : "-");
    if (*to)
        fprintf(f, " -> %s", to);
    if (*app)
        fprintf(f, "  %s(%s)", app, data);
    if (*br)
        fprintf(f, "  bridge %s", br);
    if (*dur)
        fprintf(f, "  %s", dur);
    fputc('\n', f);
}

static void print_calls(FILE *f, const ami_state *st, uint64_t now)
{
    tool_calls calls;
    tool_calls_build(st, &calls);
    fprintf(f, "Calls: %zu (%zu channels)\n", calls.n, ami_state_count(st, AMI_STATE_CHANNEL));
    for (size_t i = 0; i < calls.n; i++) {
        tool_call_info ci;
        tool_call_info_get(&calls.v[i], &ci);
        char dur[24];
        tool_fmt_since(dur, sizeof(dur), now, ci.since_ms);
        fprintf(f, "  call %s: %s -> %s  %s%s%s\n", ci.linkedid, *ci.caller ? ci.caller : "-",
                *ci.callee ? ci.callee : "-", ci.state, *dur ? "  " : "", dur);
        for (size_t k = 0; k < calls.v[i].n; k++)
            print_channel(f, calls.v[i].ch[k], now);
    }
    tool_calls_free(&calls);
}

static void print_bridges(FILE *f, const ami_state *st)
{
    fprintf(f, "Bridges: %zu\n", ami_state_count(st, AMI_STATE_BRIDGE));
    size_t cur = 0;
    const ami_state_object *b;
    while ((b = ami_state_next(st, AMI_STATE_BRIDGE, &cur)) != NULL) {
        char id[64], type[32], tech[32];
        tool_clean(id, sizeof(id), ami_state_object_id(b));
        tool_obj_str(type, sizeof(type), b, "BridgeType");
        tool_obj_str(tech, sizeof(tech), b, "BridgeTechnology");
        fprintf(f, "  %s  %s/%s:", id, *type ? type : "?", *tech ? tech : "?");
        size_t cc = 0, n = 0;
        const ami_state_object *c;
        while ((c = ami_state_next_in(st, b, AMI_STATE_CHANNEL, &cc)) != NULL) {
            char name[128];
            tool_obj_str(name, sizeof(name), c, "Channel");
            fprintf(f, "%s %s", n++ ? "," : "", name);
        }
        fputs(n ? "\n" : " (empty)\n", f);
    }
}

static void print_queues(FILE *f, const ami_state *st, uint64_t now)
{
    fprintf(f, "Queues: %zu\n", ami_state_count(st, AMI_STATE_QUEUE));
    size_t cur = 0;
    const ami_state_object *q;
    while ((q = ami_state_next(st, AMI_STATE_QUEUE, &cur)) != NULL) {
        char name[96], strat[32], calls[16], done[16], aband[16], hold[16];
        tool_clean(name, sizeof(name), ami_state_object_id(q));
        tool_obj_str(strat, sizeof(strat), q, "Strategy");
        tool_obj_str(calls, sizeof(calls), q, "Calls");
        tool_obj_str(done, sizeof(done), q, "Completed");
        tool_obj_str(aband, sizeof(aband), q, "Abandoned");
        tool_obj_str(hold, sizeof(hold), q, "Holdtime");
        fprintf(f, "  %s  strategy %s  calls %s  completed %s  abandoned %s  holdtime %ss\n", name,
                *strat ? strat : "?", *calls ? calls : "0", *done ? done : "0",
                *aband ? aband : "0", *hold ? hold : "0");
        size_t mc = 0;
        const ami_state_object *m;
        while ((m = ami_state_next_in(st, q, AMI_STATE_MEMBER, &mc)) != NULL) {
            char iface[96], mname[64], reason[64], taken[16];
            tool_obj_str(iface, sizeof(iface), m, "Interface");
            tool_obj_str(mname, sizeof(mname), m, "MemberName");
            tool_obj_str(reason, sizeof(reason), m, "PausedReason");
            tool_obj_str(taken, sizeof(taken), m, "CallsTaken");
            const char *paused = tool_yes_no(ami_state_object_get(m, "Paused"));
            fprintf(f, "    member %s (%s)  %s  paused %s%s%s%s  in call %s  taken %s\n",
                    *mname ? mname : iface, iface,
                    tool_member_status(ami_state_object_get(m, "Status")), *paused ? paused : "?",
                    *reason ? " (" : "", reason, *reason ? ")" : "",
                    tool_yes_no(ami_state_object_get(m, "InCall")), *taken ? taken : "0");
        }
        size_t cc = 0;
        const ami_state_object *c;
        while ((c = ami_state_next_in(st, q, AMI_STATE_CALLER, &cc)) != NULL) {
            char pos[16], chan[128], who[96], wait[24];
            tool_obj_str(pos, sizeof(pos), c, "Position");
            tool_obj_str(chan, sizeof(chan), c, "Channel");
            party(who, sizeof(who), c, "CallerIDNum", "CallerIDName");
            tool_fmt_since(wait, sizeof(wait), now, ami_state_object_created(c));
            fprintf(f, "    caller %s  %s  %s%s%s\n", *pos ? pos : "?", chan, *who ? who : "-",
                    *wait ? "  waiting " : "", wait);
        }
    }
}

static void print_parked(FILE *f, const ami_state *st, uint64_t now)
{
    fprintf(f, "Parked: %zu\n", ami_state_count(st, AMI_STATE_PARKED));
    size_t cur = 0;
    const ami_state_object *p;
    while ((p = ami_state_next(st, AMI_STATE_PARKED, &cur)) != NULL) {
        char id[96], chan[128], who[96], by[128], tmo[16], dur[24];
        tool_clean(id, sizeof(id), ami_state_object_id(p));
        tool_obj_str(chan, sizeof(chan), p, "ParkeeChannel");
        party(who, sizeof(who), p, "ParkeeCallerIDNum", "ParkeeCallerIDName");
        tool_obj_str(by, sizeof(by), p, "ParkerDialString");
        tool_obj_str(tmo, sizeof(tmo), p, "ParkingTimeout");
        tool_fmt_since(dur, sizeof(dur), now, ami_state_object_created(p));
        fprintf(f, "  %s  %s  %s", id, chan, *who ? who : "-");
        if (*by)
            fprintf(f, "  by %s", by);
        if (*tmo)
            fprintf(f, "  timeout %ss", tmo);
        if (*dur)
            fprintf(f, "  parked %s", dur);
        fputc('\n', f);
    }
}

void tool_state_text(FILE *f, const ami_state *st, uint64_t now_ms, const char *title)
{
    if (title) {
        char t[300];
        tool_clean(t, sizeof(t), title);
        fprintf(f, "== %s ==\n", t);
    }
    print_calls(f, st, now_ms);
    print_bridges(f, st);
    print_queues(f, st, now_ms);
    print_parked(f, st, now_ms);
}
