/*
 * The event-loop client's handle, shared by its files, each calling only
 * the ones below it: async.c (lifetime, options, loop interface) over
 * async_conn.c (connect, login, keepalive, reconnect) over async_io.c
 * (bytes and event delivery) over async_handle.c (error text, state
 * changes, the record of a loss). Login itself is login.c's.
 */
#ifndef AMI_ASYNC_INTERNAL_H
#define AMI_ASYNC_INTERNAL_H

#include "event_queue.h"
#include "internal.h"
#include "sock.h"
#include "tls.h"

#include <ami/async.h>

/* Finer than the public state: where the connection is. */
enum ami__phase {
    PH_IDLE,
    PH_CONNECT, /* TCP connect in progress: wait writable */
    PH_TLS,     /* TLS handshake: wait for tls_want */
    PH_BANNER,  /* connected, waiting for the banner */
    PH_LOGIN,   /* Challenge / Login / Filters / Events in flight */
    PH_UP,
    PH_WAIT,   /* disconnected, retry at retry_at */
    PH_STOPPED /* nothing to do until ami_async_start */
};

/* A deadline that is already due: delivery has a backlog. */
#define AMI__DUE_NOW 0u

#define AMI__ASYNC_ERRLEN 512

struct ami_async {
    /* ---- configuration */
    char *host;
    unsigned port;
    char where[300];
    char *user;
    char *secret;
    unsigned login_flags;
    char *events_mask;
    ami_tls_config *tls; /* NULL: plain TCP */
    char **filters;
    size_t nfilters;
    int connect_ms;
    int login_ms;
    int reconnect;
    int backoff_initial_ms;
    int backoff_max_ms;
    int retry_auth;
    int ka_interval_ms;
    int ka_timeout_ms;
    size_t max_events;
    size_t max_bytes;
    int budget_ms;
    int hold;

    ami_async_event_cb event_cb;
    void *event_ud;
    ami_wire_cb wire_cb; /* byte tap for recording, applied to each session */
    void *wire_ud;
    ami_async_state_cb state_cb;
    void *state_ud;
    ami_async_watch_cb watch_cb;
    void *watch_ud;
    void *app_data;

    /* ---- connection */
    int phase;
    ami_async_state state;
    ami__conn conn;
    ami_session *session;
    unsigned gen; /* bumped at every teardown: stale internal callbacks */
    struct addrinfo *addrs;
    struct addrinfo *cur_addr;
    uint64_t phase_deadline;
    unsigned tls_want; /* AMI__WANT_READ / AMI__WANT_WRITE during PH_TLS */
    uint64_t retry_at;
    unsigned attempt; /* failures since the last successful login */
    int stop_requested;
    int logging_off;

    /* ---- reading */
    /* The session's queue was found full: the socket is not read, and its
     * parser may hold complete packets until delivery makes room. */
    int paused;
    uint64_t paused_since;
    uint64_t last_rx;
    int saw_shutdown;
    /* Direct delivery during a read (see ami__async_direct): when this
     * read phase started, events since the clock was last read, how many
     * to let pass between reads of it, and whether the budget is spent. */
    uint64_t direct_start;
    unsigned direct_unchecked;
    unsigned direct_stride;
    int direct_spent;
    int eof_pending; /* EOF read; reported once earlier events are delivered */

    /* ---- keepalive */
    uint64_t ping_check_at;
    int ping_out;

    /* ---- events carried over from ended connections, and gap notices:
     * delivered before anything of the new connection. Not bounded by
     * itself: it only ever holds what one session's bounded queue held at
     * each loss (and one notice), and the application drains it first. */
    ami__event_queue carry;
    int had_up;
    int gap_open; /* a loss happened; the notice goes out at the next login */
    ami_async_reason gap_reason;
    char gap_msg[AMI__ASYNC_ERRLEN];
    uint64_t gap_wall_ms;
    uint64_t gap_mono_ms;
    unsigned gap_attempts;

    /* ---- deferred work (the session refuses teardown from its callbacks) */
    int close_pending;
    ami_async_reason close_reason;
    int close_code;
    char close_msg[AMI__ASYNC_ERRLEN];

    /* ---- re-entrancy */
    unsigned depth;   /* nesting of public calls */
    unsigned in_cb;   /* application callbacks running */
    unsigned in_sess; /* inside a session call that may run callbacks */
    int free_pending;
    int tearing; /* inside teardown: stop only sets stop_requested */
    int freeing;

    /* ---- watch reporting */
    int rep_valid;
    int rep_fd;
    unsigned rep_events;
    uint64_t rep_deadline;

    ami_async_stats stats;
    uint64_t rng;
    char errmsg[AMI__ASYNC_ERRLEN];
    int last_error; /* ami_error code of the last failure, 0 if none */
};

/* async_handle.c (the bottom: called by every other file) */
void ami__async_set_err(ami_async *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void ami__async_set_state(ami_async *a, ami_async_state st, ami_async_reason why);
/* Record a loss for ami__async_run_pending to handle (the first one wins). */
void ami__async_defer_loss(ami_async *a, ami_async_reason why, int code, const char *msg);

/* async.c */
/* Enter/leave a public call: leave runs deferred work, flushes, updates
 * the watch and performs a deferred free. */
void ami__async_enter(ami_async *a);
void ami__async_leave(ami_async *a);

/* async_io.c */
void ami__async_read(ami_async *a, uint64_t now);
void ami__async_feed(ami_async *a, uint64_t now);
void ami__async_flush(ami_async *a);
void ami__async_finish_eof(ami_async *a);
void ami__async_deliver(ami_async *a);
/* Session event filter: hand an event to the application while it is read,
 * without queueing a copy, when nothing is waiting before it. */
int ami__async_direct(ami_session *s, const ami_packet *p, void *user_data);
int ami__async_backlog(const ami_async *a);
size_t ami__async_queued(const ami_async *a);
/* Decoded bytes wait inside the transport (TLS) where poll() cannot see
 * them: the loop must call again at once and read. */
int ami__async_tp_pending(const ami_async *a);

/* async_conn.c */
void ami__async_begin_attempt(ami_async *a, uint64_t now);
void ami__async_on_connect_ready(ami_async *a, uint64_t now);
void ami__async_tls_step(ami_async *a, uint64_t now);
void ami__async_on_bytes(ami_async *a, uint64_t now);
void ami__async_timers(ami_async *a, uint64_t now);
uint64_t ami__async_conn_deadline(const ami_async *a);
/* End the connection now (outside session callbacks) or as soon as the
 * session call in progress returns. */
void ami__async_lose(ami_async *a, ami_async_reason why, int code, const char *msg);
void ami__async_run_pending(ami_async *a);
/* Close the socket and drop the session without any state change. */
void ami__async_teardown(ami_async *a, int code, const char *msg);
/* Session result callback for application actions. */
int ami__async_submit(ami_async *a, const ami_action *act, uint64_t deadline,
                      ami_async_result_cb cb, void *ud, const char **id_out);
/* Cancel an application action: AMI_ERR_INVALID when `action_id` is not
 * one (not pending, or one of the handle's own login/keepalive actions). */
int ami__async_cancel(ami_async *a, const char *action_id);
int ami__async_send_filter(ami_async *a, const char *filter, ami_async_result_cb cb, void *ud,
                           int internal);

#endif /* AMI_ASYNC_INTERNAL_H */
