/* The screens of `ami top`: see top_view.h. */
#include "top_view.h"

#include "state_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How long the "resynced" mark stays after a gap: long enough to be seen
 * at a glance, short enough not to look like a permanent problem. */
#define RESYNC_MARK_MS 10000

static const char *const calls_sorts[] = {"duration", "caller", "state", "server"};
static const char *const queues_sorts[] = {"name", "status", "paused"};
static const char *const parked_sorts[] = {"space", "duration", "server"};
static const char *const *const sorts[TOP_NVIEWS] = {calls_sorts, queues_sorts, parked_sorts};
static const unsigned nsorts[TOP_NVIEWS] = {4, 3, 3};

const char *top_sort_name(const top_ui *ui)
{
    return sorts[ui->view][ui->sort[ui->view] % nsorts[ui->view]];
}

void top_sort_next(top_ui *ui)
{
    ui->sort[ui->view] = (ui->sort[ui->view] + 1) % nsorts[ui->view];
}

static void add(top_screen *scr, top_style style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add(top_screen *scr, top_style style, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (scr->n == scr->cap) {
        scr->cap = scr->cap ? scr->cap * 2 : 64;
        scr->v = tool_xrealloc(scr->v, scr->cap * sizeof(*scr->v));
    }
    size_t len = strlen(buf) + 1;
    char *t = tool_xrealloc(NULL, len);
    memcpy(t, buf, len);
    /* Trailing blanks of padded columns are noise in a capture. */
    while (len > 1 && t[len - 2] == ' ')
        t[--len - 1] = '\0';
    scr->v[scr->n++] = (top_line){t, style};
}

void top_screen_free(top_screen *scr)
{
    for (size_t i = 0; i < scr->n; i++)
        free(scr->v[i].text);
    free(scr->v);
    memset(scr, 0, sizeof(*scr));
}

static int matches(const top_ui *ui, const char *const *cols, size_t n)
{
    if (!ui->filter[0])
        return 1;
    size_t fl = strlen(ui->filter);
    for (size_t i = 0; i < n; i++)
        for (const char *c = cols[i]; c && *c; c++)
            if (strncasecmp(c, ui->filter, fl) == 0)
                return 1;
    return 0;
}

/* Width of the server column: the longest name, within reason. */
static int server_width(const tool_live *l)
{
    if (l->n < 2)
        return 0;
    size_t w = 6;
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->sv[i].name) > w)
            w = strlen(l->sv[i].name);
    return (int)(w > 24 ? 24 : w);
}

static void server_marks(top_screen *scr, const tool_live *l, uint64_t now)
{
    char line[1024];
    size_t len = 0;
    int alert = 0;
    line[0] = '\0';
    for (size_t i = 0; i < l->n && len < sizeof(line) - 1; i++) {
        const tool_live_server *s = &l->sv[i];
        char name[96], mark[96], since[24];
        tool_clean(name, sizeof(name), s->name);
        if (s->failed) {
            snprintf(mark, sizeof(mark), "FAILED");
            alert = 1;
        } else if (!s->up && s->down_at) {
            tool_fmt_since(since, sizeof(since), now, s->down_at);
            snprintf(mark, sizeof(mark), "DOWN %s", since);
            alert = 1;
        } else if (!s->up) {
            snprintf(mark, sizeof(mark), "connecting");
        } else if (s->list_failed) {
            snprintf(mark, sizeof(mark), "LISTS FAILED");
            alert = 1;
        } else if (!ami_state_is_synced(s->st)) {
            snprintf(mark, sizeof(mark), "syncing");
        } else if (s->gap_at && s->synced_at >= s->gap_at && now - s->synced_at < RESYNC_MARK_MS) {
            /* The link resyncs on the gap notice: this snapshot is the
             * one taken after the outage. */
            snprintf(mark, sizeof(mark), "RESYNCED after a gap");
            alert = 1;
        } else {
            snprintf(mark, sizeof(mark), "up");
        }
        int w = snprintf(line + len, sizeof(line) - len, "%s[%s: %s]", i ? "  " : "", name, mark);
        if (w > 0)
            len += (size_t)w;
    }
    add(scr, alert ? TOP_STYLE_ALERT : TOP_STYLE_NORMAL, "%s", line);
}

/* ---------------------------------------------------------------- calls */

typedef struct call_row {
    const char *server;
    tool_call_info ci;
    uint64_t age; /* ms, 0: unknown */
    const char *sort;
} call_row;

static int cmp_calls(const void *a, const void *b)
{
    const call_row *x = a, *y = b;
    int c = 0;
    if (strcmp(x->sort, "duration") == 0)
        c = x->age < y->age ? 1 : x->age > y->age ? -1 : 0; /* longest first */
    else if (strcmp(x->sort, "caller") == 0)
        c = strcmp(x->ci.caller, y->ci.caller);
    else if (strcmp(x->sort, "state") == 0)
        c = strcmp(x->ci.state, y->ci.state);
    if (!c)
        c = strcmp(x->server, y->server);
    if (!c)
        c = strcmp(x->ci.linkedid, y->ci.linkedid);
    return c;
}

static void build_calls(top_screen *scr, const tool_live *l, const top_ui *ui, uint64_t now)
{
    call_row *rows = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < l->n; i++) {
        tool_calls calls;
        tool_calls_build(l->sv[i].st, &calls);
        for (size_t k = 0; k < calls.n; k++) {
            call_row r;
            memset(&r, 0, sizeof(r));
            r.server = l->sv[i].name;
            r.sort = top_sort_name(ui);
            tool_call_info_get(&calls.v[k], &r.ci);
            r.age = r.ci.since_ms && r.ci.since_ms <= now ? now - r.ci.since_ms : 0;
            const char *cols[] = {r.server,   r.ci.caller, r.ci.callee,
                                  r.ci.state, r.ci.bridge, r.ci.app};
            if (!matches(ui, cols, 6))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                rows = tool_xrealloc(rows, cap * sizeof(*rows));
            }
            rows[n++] = r;
        }
        tool_calls_free(&calls);
    }
    if (n)
        qsort(rows, n, sizeof(*rows), cmp_calls);
    int sw = server_width(l), gap = sw ? 1 : 0;
    add(scr, TOP_STYLE_HEADING, "%-*s%*s%-24s %-24s %-10s %8s  %-9s %s", sw, sw ? "SERVER" : "",
        gap, "", "CALLER", "CALLEE", "STATE", "DURATION", "BRIDGE", "APPLICATION");
    scr->head = scr->n;
    for (size_t i = 0; i < n; i++) {
        char dur[24], srv[32];
        tool_fmt_since(dur, sizeof(dur), now, rows[i].ci.since_ms);
        tool_clean(srv, sizeof(srv), rows[i].server);
        add(scr, TOP_STYLE_NORMAL, "%-*.*s%*s%-24.24s %-24.24s %-10.10s %8s  %-9.8s %s", sw, sw,
            srv, gap, "", rows[i].ci.caller, rows[i].ci.callee, rows[i].ci.state, dur,
            rows[i].ci.bridge, rows[i].ci.app);
        if (*dur)
            scr->timed = 1;
    }
    if (!n)
        add(scr, TOP_STYLE_NORMAL, "%s",
            ui->filter[0] ? "(no call matches the filter)" : "(no calls)");
    free(rows);
}

/* --------------------------------------------------------------- queues */

typedef struct member_row {
    const ami_state_object *o;
    const char *sort;
    char name[64];
    const char *status;
    const char *paused;
} member_row;

static int cmp_members(const void *a, const void *b)
{
    const member_row *x = a, *y = b;
    int c = 0;
    if (strcmp(x->sort, "status") == 0)
        c = strcmp(x->status, y->status);
    else if (strcmp(x->sort, "paused") == 0)
        c = -strcmp(x->paused, y->paused); /* paused ones first */
    return c ? c : strcmp(x->name, y->name);
}

static void build_queue(top_screen *scr, const tool_live_server *s, const ami_state_object *q,
                        const top_ui *ui, uint64_t now, int multi)
{
    const ami_state *st = s->st;
    const char *qid = ami_state_object_id(q);
    char qname[96], srv[64], strat[32], done[16], aband[16], hold[16];
    tool_clean(qname, sizeof(qname), qid);
    tool_clean(srv, sizeof(srv), s->name);
    tool_obj_str(strat, sizeof(strat), q, "Strategy");
    tool_obj_str(done, sizeof(done), q, "Completed");
    tool_obj_str(aband, sizeof(aband), q, "Abandoned");
    tool_obj_str(hold, sizeof(hold), q, "Holdtime");
    const char *qcols[] = {qname, srv};
    int qmatch = matches(ui, qcols, 2);

    member_row *m = NULL;
    size_t nm = 0, cap = 0, cur = 0;
    const ami_state_object *o;
    while ((o = ami_state_next_in(st, q, AMI_STATE_MEMBER, &cur)) != NULL) {
        if (nm == cap) {
            cap = cap ? cap * 2 : 16;
            m = tool_xrealloc(m, cap * sizeof(*m));
        }
        member_row r = {o, top_sort_name(ui), "", "", ""};
        tool_obj_str(r.name, sizeof(r.name), o, "MemberName");
        if (!r.name[0])
            tool_obj_str(r.name, sizeof(r.name), o, "Interface");
        r.status = tool_member_status(ami_state_object_get(o, "Status"));
        r.paused = tool_yes_no(ami_state_object_get(o, "Paused"));
        m[nm++] = r;
    }
    if (nm)
        qsort(m, nm, sizeof(*m), cmp_members);

    size_t ncallers = 0;
    cur = 0;
    while (ami_state_next_in(st, q, AMI_STATE_CALLER, &cur) != NULL)
        ncallers++;

    size_t title = scr->n;
    add(scr, TOP_STYLE_HEADING,
        "%s%s%s  %zu waiting  %zu members  strategy %s  completed %s  "
        "abandoned %s  holdtime %ss",
        multi ? srv : "", multi ? "/" : "", qname, ncallers, nm, *strat ? strat : "?",
        *done ? done : "0", *aband ? aband : "0", *hold ? hold : "0");
    size_t shown = 0;
    for (size_t i = 0; i < nm; i++) {
        char iface[96], reason[64], incall[8], taken[16];
        tool_obj_str(iface, sizeof(iface), m[i].o, "Interface");
        tool_obj_str(reason, sizeof(reason), m[i].o, "PausedReason");
        snprintf(incall, sizeof(incall), "%s", tool_yes_no(ami_state_object_get(m[i].o, "InCall")));
        tool_obj_str(taken, sizeof(taken), m[i].o, "CallsTaken");
        const char *cols[] = {m[i].name, iface, m[i].status, reason};
        if (!qmatch && !matches(ui, cols, 4))
            continue;
        char pause[96];
        if (strcmp(m[i].paused, "yes") == 0)
            snprintf(pause, sizeof(pause), "PAUSED%s%s%s", *reason ? " (" : "", reason,
                     *reason ? ")" : "");
        else
            snprintf(pause, sizeof(pause), "-");
        add(scr, TOP_STYLE_NORMAL,
            "  member %-20.20s %-24.24s %-12s %-20.20s in call %-3s taken %s", m[i].name, iface,
            m[i].status, pause, incall, *taken ? taken : "0");
        shown++;
    }
    cur = 0;
    while ((o = ami_state_next_in(st, q, AMI_STATE_CALLER, &cur)) != NULL) {
        char pos[16], chan[96], num[48], name[48], wait[24];
        tool_obj_str(pos, sizeof(pos), o, "Position");
        tool_obj_str(chan, sizeof(chan), o, "Channel");
        tool_obj_str(num, sizeof(num), o, "CallerIDNum");
        tool_obj_str(name, sizeof(name), o, "CallerIDName");
        tool_fmt_since(wait, sizeof(wait), now, ami_state_object_created(o));
        const char *cols[] = {chan, num, name};
        if (!qmatch && !matches(ui, cols, 3))
            continue;
        add(scr, TOP_STYLE_NORMAL, "  caller %-3s %-32.32s %-16.16s %-20.20s %s%s", pos, chan, num,
            name, *wait ? "waiting " : "", wait);
        if (*wait)
            scr->timed = 1;
        shown++;
    }
    free(m);
    if (!qmatch && !shown) {
        /* Nothing of this queue matches the filter: leave it out. */
        free(scr->v[title].text);
        scr->n = title;
    }
}

static void build_queues(top_screen *scr, const tool_live *l, const top_ui *ui, uint64_t now)
{
    scr->head = scr->n;
    size_t before = scr->n;
    for (size_t i = 0; i < l->n; i++) {
        size_t cur = 0;
        const ami_state_object *q;
        while ((q = ami_state_next(l->sv[i].st, AMI_STATE_QUEUE, &cur)) != NULL)
            build_queue(scr, &l->sv[i], q, ui, now, l->n > 1);
    }
    if (scr->n == before)
        add(scr, TOP_STYLE_NORMAL, "%s",
            ui->filter[0] ? "(no queue matches the filter)" : "(no queues)");
}

/* --------------------------------------------------------------- parked */

typedef struct park_row {
    const char *server;
    const ami_state_object *o;
    const char *sort;
    uint64_t since;
    long space;
} park_row;

static int cmp_parked(const void *a, const void *b)
{
    const park_row *x = a, *y = b;
    int c = 0;
    if (strcmp(x->sort, "duration") == 0)
        c = x->since < y->since ? -1 : x->since > y->since; /* parked longest first */
    else if (strcmp(x->sort, "server") == 0)
        c = strcmp(x->server, y->server);
    if (!c)
        c = strcmp(ami_state_object_id(x->o), ami_state_object_id(y->o));
    if (!c)
        c = x->space < y->space ? -1 : x->space > y->space;
    return c;
}

static void build_parked(top_screen *scr, const tool_live *l, const top_ui *ui, uint64_t now)
{
    park_row *rows = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < l->n; i++) {
        size_t cur = 0;
        const ami_state_object *o;
        while ((o = ami_state_next(l->sv[i].st, AMI_STATE_PARKED, &cur)) != NULL) {
            char id[96], chan[96], num[48], name[48], by[96];
            tool_clean(id, sizeof(id), ami_state_object_id(o));
            tool_obj_str(chan, sizeof(chan), o, "ParkeeChannel");
            tool_obj_str(num, sizeof(num), o, "ParkeeCallerIDNum");
            tool_obj_str(name, sizeof(name), o, "ParkeeCallerIDName");
            tool_obj_str(by, sizeof(by), o, "ParkerDialString");
            const char *cols[] = {l->sv[i].name, id, chan, num, name, by};
            if (!matches(ui, cols, 6))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                rows = tool_xrealloc(rows, cap * sizeof(*rows));
            }
            const char *sp = ami_state_object_get(o, "ParkingSpace");
            rows[n++] = (park_row){l->sv[i].name, o, top_sort_name(ui), ami_state_object_created(o),
                                   sp ? strtol(sp, NULL, 10) : 0};
        }
    }
    if (n)
        qsort(rows, n, sizeof(*rows), cmp_parked);
    int sw = server_width(l), gap = sw ? 1 : 0;
    add(scr, TOP_STYLE_HEADING, "%-*s%*s%-16s %-32s %-24s %-24s %8s %s", sw, sw ? "SERVER" : "",
        gap, "", "LOT/SPACE", "CHANNEL", "CALLER", "PARKED BY", "PARKED", "TIMEOUT");
    scr->head = scr->n;
    for (size_t i = 0; i < n; i++) {
        const ami_state_object *o = rows[i].o;
        char id[96], chan[96], num[48], name[48], who[112], by[96], tmo[16], dur[24], srv[32];
        tool_clean(srv, sizeof(srv), rows[i].server);
        tool_clean(id, sizeof(id), ami_state_object_id(o));
        tool_obj_str(chan, sizeof(chan), o, "ParkeeChannel");
        tool_obj_str(num, sizeof(num), o, "ParkeeCallerIDNum");
        tool_obj_str(name, sizeof(name), o, "ParkeeCallerIDName");
        tool_obj_str(by, sizeof(by), o, "ParkerDialString");
        tool_obj_str(tmo, sizeof(tmo), o, "ParkingTimeout");
        snprintf(who, sizeof(who), "%s%s%s%s", num, *name ? " \"" : "", name, *name ? "\"" : "");
        tool_fmt_since(dur, sizeof(dur), now, rows[i].since);
        add(scr, TOP_STYLE_NORMAL, "%-*.*s%*s%-16.16s %-32.32s %-24.24s %-24.24s %8s %s%s", sw, sw,
            srv, gap, "", id, chan, who, by, dur, tmo, *tmo ? "s" : "");
        if (*dur)
            scr->timed = 1;
    }
    if (!n)
        add(scr, TOP_STYLE_NORMAL, "%s",
            ui->filter[0] ? "(no parked call matches the filter)" : "(no parked calls)");
    free(rows);
}

void top_build(top_screen *scr, const tool_live *l, const top_ui *ui, uint64_t now)
{
    top_screen_free(scr);
    size_t calls = 0, waiting = 0, parked = 0;
    for (size_t i = 0; i < l->n; i++) {
        tool_calls c;
        tool_calls_build(l->sv[i].st, &c);
        calls += c.n;
        tool_calls_free(&c);
        waiting += ami_state_count(l->sv[i].st, AMI_STATE_CALLER);
        parked += ami_state_count(l->sv[i].st, AMI_STATE_PARKED);
    }
    char views[128];
    snprintf(views, sizeof(views),
             "%s1 Calls (%zu)%s  %s2 Queues (%zu waiting)%s  %s3 Parked (%zu)%s",
             ui->view == TOP_CALLS ? "[" : "", calls, ui->view == TOP_CALLS ? "]" : "",
             ui->view == TOP_QUEUES ? "[" : "", waiting, ui->view == TOP_QUEUES ? "]" : "",
             ui->view == TOP_PARKED ? "[" : "", parked, ui->view == TOP_PARKED ? "]" : "");
    char filt[160] = "";
    if (ui->filter[0]) {
        char f[130];
        tool_clean(f, sizeof(f), ui->filter);
        snprintf(filt, sizeof(filt), "  filter: %s", f);
    }
    add(scr, TOP_STYLE_TITLE, "ami top  %s  sort: %s%s", views, top_sort_name(ui), filt);
    server_marks(scr, l, now);
    scr->timed = 0;
    switch (ui->view) {
    case TOP_QUEUES:
        build_queues(scr, l, ui, now);
        break;
    case TOP_PARKED:
        build_parked(scr, l, ui, now);
        break;
    default:
        build_calls(scr, l, ui, now);
        break;
    }
    /* A server that is down counts its outage in the marks line. */
    for (size_t i = 0; i < l->n; i++)
        if (!l->sv[i].up && l->sv[i].down_at)
            scr->timed = 1;
}
