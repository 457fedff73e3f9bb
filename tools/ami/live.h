/*
 * The live state of one or several servers, for `ami state` and `ami top`:
 * per server an event-loop client (ami/async.h) and a store (ami/state.h)
 * kept in step by the informer pattern (libami's ami_state_link: list at
 * the first login and after every gap notice, apply events). One poll() loop drives every server
 * plus, optionally, one more descriptor (the terminal of `ami top`) and a tick.
 */
#ifndef AMI_TOOL_LIVE_H
#define AMI_TOOL_LIVE_H

#include "tool.h"

#include <ami/async.h>
#include <ami/state.h>
#include <ami/state_client.h>

#include <stdint.h>

typedef struct tool_live tool_live;

typedef struct tool_live_server {
    tool_live *live;
    const tool_server *srv;
    const char *name; /* as given to -H: the JSON key, the top label */
    ami_async *a;
    ami_state *st;
    ami_state_link *link; /* feeds st and lists after every gap */
    int up;               /* logged in now */
    int was_up;           /* logged in at least once */
    int announced;        /* the current outage was reported on stderr */
    int failed;           /* stopped for good (no --reconnect, or a refused login) */
    int code;             /* exit status of that failure */
    uint64_t down_at;     /* ami_async_now() when the connection was lost, 0: up */
    uint64_t gap_at;      /* when the last gap notice arrived, 0: never */
    uint64_t synced_at;   /* when the last resync completed */
    int list_failed;      /* a list action failed: the resync is incomplete */
} tool_live_server;

/* Called for every event after the store has seen it (the gap notice
 * included), and whenever something the view shows changed. */
typedef void (*tool_live_event_fn)(tool_live_server *s, const ami_packet *ev, void *ud);

struct tool_live {
    tool_opts *o;
    tool_live_server sv[TOOL_MAX_SERVERS];
    ami_async *h[TOOL_MAX_SERVERS];
    size_t n;
    int reconnect;    /* follow restarts (ami top); else a loss ends the run */
    int quiet;        /* no stderr reports (a full-screen view shows them) */
    int changed;      /* some store changed or a server went up/down */
    int logging_off;  /* the end: STOPPED is expected now */
    int failed_count; /* servers stopped for good */
    tool_live_event_fn on_event;
    void *ud;
};

/* Settle the options (tool_conn_settle), read the secret and the TLS
 * settings, and set up every server of o->servers (connection, login, the
 * store); the secret is wiped before it returns. Returns 0 or an exit
 * status after a message; call tool_live_finish() either way. */
int tool_live_init(tool_live *l, tool_opts *o, int reconnect);
/* Start connecting every server. */
void tool_live_start(tool_live *l);

/* One extra descriptor watched for reading (the terminal), -1 for none. */
typedef struct tool_live_loop {
    int extra_fd;
    void (*on_extra)(void *ud);
    int tick_ms; /* wake at least this often (-1: never) */
    void (*on_tick)(void *ud);
    int (*done)(void *ud); /* checked at every turn */
    void *ud;
    uint64_t end_at; /* ami_async_now() at which to return anyway, 0: never */
    int ignore_stop; /* keep going after a stop signal (the Logoff at the end) */
} tool_live_loop;

/* Run until done() says so, end_at passes or a signal asks to stop.
 * Returns 0, or -1 when poll() failed (errno set). */
int tool_live_run(tool_live *l, const tool_live_loop *lp);

/* 1 when every server's store is synced (servers that failed for good
 * count as synced: there is nothing more to wait for). */
int tool_live_all_synced(const tool_live *l);

/* Log off politely where logged in, stop the rest, free everything. */
void tool_live_finish(tool_live *l);
/* tool_live_init installs the stop handlers of stop.h. */

#endif
