/*
 * `ami state`: what is going on now on one or several servers — channels
 * grouped into calls, bridges, queues with members and callers, parked
 * calls — printed once as a readable listing or as JSON:
 *   - connect, take the snapshot (the store's list actions), print, exit;
 *   - --until Key=GLOB: after the snapshot, follow events and print the
 *     state as it is right after the first matching event;
 *   - --from FILE: no network, the state a recorded server stream builds.
 * JSON: one server gives ami_state_to_json()'s object
 * {"channels":[…],"bridges":[…],"queues":[…],"parked":[…],…}; several -H
 * give {"<-H as given>":{…},…} in -H order.
 */
#include "conn.h"
#include "filter.h"
#include "jsonstr.h"
#include "live.h"
#include "stop.h"
#include "state_from.h"
#include "state_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct state_run {
    tool_live live;
    int matched; /* --until matched (on any server) */
} state_run;

static void print_json(FILE *f, ami_state *const *st, const char *const *names, size_t n)
{
    tool_buf b = {0};
    if (n > 1)
        tool_buf_addc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        char *js = NULL;
        size_t len = 0;
        int rc = ami_state_to_json(st[i], &js, &len);
        if (rc == AMI_ERR_NOMEM)
            tool_oom();
        if (rc) {
            tool_err("state: cannot format the state as JSON: %s", ami_strerror(rc));
            continue;
        }
        if (n > 1) {
            if (i)
                tool_buf_addc(&b, ',');
            tool_json_string(&b, names[i], strlen(names[i]));
            tool_buf_addc(&b, ':');
        }
        tool_buf_add(&b, js, len);
        free(js);
    }
    if (n > 1)
        tool_buf_addc(&b, '}');
    tool_buf_addc(&b, '\n');
    fwrite(b.p, 1, b.len, f);
    tool_buf_free(&b);
}

static void print_all(const tool_opts *o, ami_state *const *st, const char *const *names, size_t n,
                      uint64_t now)
{
    if (o->format == TOOL_FORMAT_JSON) {
        print_json(stdout, st, names, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc('\n', stdout);
        tool_state_text(stdout, st[i], now, n > 1 ? names[i] : NULL);
    }
}

static int from_file(tool_opts *o)
{
    ami_state *st;
    if (ami_state_create(&st) != 0)
        tool_oom();
    int code = tool_state_from(o->state_from, st);
    const char *name = o->state_from;
    print_all(o, &st, &name, 1, 0);
    ami_state_free(st);
    return code;
}

static void on_event(tool_live_server *s, const ami_packet *ev, void *ud)
{
    state_run *r = ud;
    (void)s;
    /* A match during the snapshot counts too: the state is printed once
     * every snapshot is in, so nothing that happened early is missed. */
    if (r->matched || !r->live.o->until.n || !tool_filter_match(&r->live.o->until, ev))
        return;
    r->matched = 1;
    /* Once synced, the state to print is this one: no later event of
     * the same read may change it. */
    if (tool_live_all_synced(&r->live))
        for (size_t i = 0; i < r->live.n; i++)
            ami_async_hold_events(r->live.h[i], 1);
}

static int done(void *ud)
{
    state_run *r = ud;
    if (r->live.failed_count)
        return 1;
    for (size_t i = 0; i < r->live.n; i++)
        if (r->live.sv[i].list_failed)
            return 1;
    if (!tool_live_all_synced(&r->live))
        return 0;
    return !r->live.o->until.n || r->matched;
}

static int live_state(tool_opts *o)
{
    state_run *r = calloc(1, sizeof(*r));
    if (!r)
        tool_oom();
    int code = tool_live_init(&r->live, o, 0);
    if (code == 0) {
        r->live.on_event = on_event;
        r->live.ud = r;
        tool_live_start(&r->live);
        tool_live_loop lp = {.extra_fd = -1, .tick_ms = -1, .done = done, .ud = r};
        if (tool_live_run(&r->live, &lp) < 0) {
            tool_err("waiting for the servers failed: %s", strerror(errno));
            code = TOOL_EXIT_CONNECTION;
        }
    }
    for (size_t i = 0; code == 0 && i < r->live.n; i++) {
        tool_live_server *s = &r->live.sv[i];
        if (s->failed) {
            code = s->code;
        } else if (s->list_failed) {
            tool_err("%s: the snapshot failed: %s — check the server (or raise --timeout)",
                     s->srv->where, ami_strerror(s->list_failed));
            code = tool_exit_for(s->list_failed);
        }
    }
    if (code == 0 && !tool_stop_signal()) {
        ami_state *st[TOOL_MAX_SERVERS];
        const char *names[TOOL_MAX_SERVERS];
        for (size_t i = 0; i < r->live.n; i++) {
            st[i] = r->live.sv[i].st;
            names[i] = r->live.sv[i].name;
        }
        print_all(o, st, names, r->live.n, ami_async_now());
    } else if (code == 0) {
        code = TOOL_EXIT_CONNECTION; /* interrupted before the state was complete */
        tool_err("state: interrupted before the snapshot was complete — nothing printed");
    }
    tool_live_finish(&r->live);
    free(r);
    return code;
}

int tool_cmd_state(tool_opts *o)
{
    if (o->nargs > 0)
        return tool_usage_error("state: unexpected argument '%s'", o->args[0]);
    if (o->format == TOOL_FORMAT_NDJSON)
        return tool_usage_error("state: --format is text or json");
    if (o->state_from) {
        if (o->until.n)
            return tool_usage_error("state: --until follows a live server; it does not apply "
                                    "with --from");
        return from_file(o);
    }
    return live_state(o);
}
