/*
 * The store wired to the clients (ami/state_client.h): a blocking
 * bootstrap, and a link that resyncs a store over an ami_async handle
 * after every gap without owning the handle's callbacks.
 */
#include <ami/state_client.h>

#include "state_internal.h"

#include <string.h>

/* ------------------------------------------------------------- blocking */

/* Feed the events queued in the client (none when it has an event callback). */
static int drain(ami_state *st, ami_client *c, ami_state_event_fn on_event, void *ud)
{
    ami_session *s = ami_client_session(c);
    while (s && ami_session_queued_events(s)) {
        ami_packet *p = NULL;
        if (ami_session_next_event(s, &p) != 1)
            break;
        int rc = ami_state_feed_event(st, p);
        if (on_event)
            on_event(p, ud);
        ami_packet_free(p);
        if (rc == AMI_ERR_STATE)
            return rc;
        /* AMI_ERR_NOMEM marks the store stale; keep handing events on. */
    }
    return 0;
}

int ami_state_bootstrap(ami_state *st, ami_client *c, int timeout_ms, ami_state_event_fn on_event,
                        void *user_data)
{
    if (!st || !c)
        return AMI_ERR_INVALID;
    int rc = ami_state_resync_begin(st);
    if (rc)
        return rc;
    for (;;) {
        if ((rc = drain(st, c, on_event, user_data)) < 0)
            return rc;
        ami_action *a = NULL;
        unsigned token = 0;
        rc = ami_state_next_action(st, &a, &token);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        ami_result *r = NULL;
        int s = ami_client_call(c, a, timeout_ms, &r);
        ami_action_free(a);
        if (!r)
            return s < 0 ? s : AMI_ERR_NOMEM;
        /* Events queued during the call arrived before the list was complete;
         * fed after it they win over its older view, as the store expects. */
        rc = ami_state_feed_result(st, token, r);
        ami_result_free(r);
        if (rc < 0)
            return rc;
        if (s < 0 && s != AMI_ERR_ACTION_FAILED)
            return s;
    }
    if ((rc = drain(st, c, on_event, user_data)) < 0)
        return rc;
    return ami_state_is_synced(st) ? 0 : AMI_ERR_NOMEM;
}

/* ------------------------------------------------------------ event loop */

typedef struct ticket {
    struct ticket *prev, *next;
    ami_state_link *link; /* NULL once the link is gone */
    unsigned token;
} ticket;

struct ami_state_link {
    ami_state *st;
    ami_async *a;
    int timeout_ms;
    ami_state_synced_fn cb;
    void *cb_data;
    int up, ever_up;
    int reported; /* the current resync's outcome was reported */
    ticket *tickets;
};

/* ami_async_send, in one place. */
static int send_list(ami_async *a, const ami_action *act, int timeout_ms, ami_async_result_cb cb,
                     void *ud)
{
    return ami_async_send(a, act, timeout_ms, cb, ud, NULL);
}

static void report(ami_state_link *l, int synced, int error)
{
    if (l->reported)
        return;
    l->reported = 1;
    if (l->cb)
        l->cb(l, synced, error, l->cb_data);
}

static void on_result(ami_async *a, ami_result *r, void *ud);

static int pump(ami_state_link *l)
{
    for (;;) {
        ami_action *act = NULL;
        unsigned token = 0;
        int rc = ami_state_next_action(l->st, &act, &token);
        if (rc <= 0)
            return rc;
        ticket *t = ami__calloc(1, sizeof(*t));
        if (!t) {
            ami_action_free(act);
            return AMI_ERR_NOMEM;
        }
        t->link = l;
        t->token = token;
        rc = send_list(l->a, act, l->timeout_ms, on_result, t);
        ami_action_free(act);
        if (rc < 0) {
            ami__free(t);
            return rc;
        }
        t->next = l->tickets;
        if (l->tickets)
            l->tickets->prev = t;
        l->tickets = t;
    }
}

static void on_result(ami_async *a, ami_result *r, void *ud)
{
    (void)a;
    ticket *t = ud;
    ami_state_link *l = t->link;
    if (l) {
        if (t->prev)
            t->prev->next = t->next;
        else
            l->tickets = t->next;
        if (t->next)
            t->next->prev = t->prev;
    }
    unsigned token = t->token;
    ami__free(t);
    if (l) {
        int s = ami_result_status(r);
        int rc = ami_state_feed_result(l->st, token, r);
        if (rc == 0 && s != 0 && s != AMI_ERR_ACTION_FAILED) {
            report(l, 0, s);
        } else if (rc == 0) {
            rc = pump(l);
            if (rc < 0)
                report(l, 0, rc);
            else if (ami_state_is_synced(l->st))
                report(l, 1, 0);
        } else if (rc != AMI_ERR_INVALID) {
            report(l, 0, rc); /* AMI_ERR_INVALID: a list of an abandoned resync */
        }
    }
    ami_result_free(r);
}

int ami_state_link_create(ami_state_link **out, ami_state *st, ami_async *a, int timeout_ms)
{
    if (!out || !st || !a)
        return AMI_ERR_INVALID;
    *out = NULL;
    ami_state_link *l = ami__calloc(1, sizeof(*l));
    if (!l)
        return AMI_ERR_NOMEM;
    l->st = st;
    l->a = a;
    l->timeout_ms = timeout_ms;
    l->up = ami_async_get_state(a) == AMI_ASYNC_UP;
    *out = l;
    return AMI_OK;
}

void ami_state_link_free(ami_state_link *l)
{
    if (!l)
        return;
    /* The handle still owns the pending callbacks: they free their tickets. */
    for (ticket *t = l->tickets; t; t = t->next)
        t->link = NULL;
    ami__free(l);
}

void ami_state_link_set_synced_cb(ami_state_link *l, ami_state_synced_fn cb, void *user_data)
{
    if (!l)
        return;
    l->cb = cb;
    l->cb_data = user_data;
}

int ami_state_async_resync(ami_state_link *l)
{
    if (!l)
        return AMI_ERR_INVALID;
    if (!l->up)
        return AMI_ERR_STATE;
    int rc = ami_state_resync_begin(l->st);
    if (rc)
        return rc;
    l->reported = 0;
    rc = pump(l);
    if (rc < 0)
        report(l, 0, rc);
    return rc < 0 ? rc : 0;
}

int ami_state_async_on_event(ami_state_link *l, const ami_packet *event)
{
    if (!l || !event)
        return AMI_ERR_INVALID;
    const char *name = ami_packet_event_name(event);
    if (name && strcmp(name, AMI_ASYNC_GAP_EVENT) == 0) {
        /* Every event of the lost connection came before this: relist now. */
        if (l->up) {
            int rc = ami_state_async_resync(l);
            return rc < 0 ? rc : 0;
        }
        return 0;
    }
    return ami_state_feed_event(l->st, event);
}

void ami_state_async_on_state(ami_state_link *l, ami_async_state state)
{
    if (!l)
        return;
    if (state != AMI_ASYNC_UP) {
        l->up = 0;
        return;
    }
    l->up = 1;
    /* The first connection has no gap notice; later ones do, and resync
     * there, after the old connection's events. */
    if (!l->ever_up) {
        l->ever_up = 1;
        ami_state_async_resync(l);
    }
}
