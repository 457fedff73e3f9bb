/*
 * libevent 2 adapter for ami_async, header-only (libami links no loop):
 *
 *   ami_libevent_attach(base, handle);   then ami_async_start(handle)
 *
 * One event follows the handle's fd and wanted events, one timer event its
 * next deadline; both are updated from the watch callback. The adapter
 * state is freed with the handle (ami_async_free).
 */
#ifndef AMI_ADAPTERS_LIBEVENT_H
#define AMI_ADAPTERS_LIBEVENT_H

#include <ami/async.h>

#include <event2/event.h>
#include <stdlib.h>

typedef struct ami_libevent {
    struct event_base *base;
    ami_async *a;
    struct event *io;
    struct event *timer;
    int fd;
    unsigned events;
    int busy;
    int dead;
} ami_libevent;

static inline void ami_libevent__arm_timer(ami_libevent *c, int timeout_ms)
{
    evtimer_del(c->timer);
    if (timeout_ms >= 0) {
        struct timeval tv;
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        evtimer_add(c->timer, &tv);
    }
}

static inline void ami_libevent__release(ami_libevent *c)
{
    if (c->io)
        event_free(c->io);
    event_free(c->timer);
    free(c);
}

static inline void ami_libevent__process(ami_libevent *c, unsigned events)
{
    c->busy = 1;
    ami_async_process(c->a, events);
    c->busy = 0;
    if (c->dead) {
        ami_libevent__release(c);
        return;
    }
    ami_libevent__arm_timer(c, ami_async_timeout(c->a));
}

static inline void ami_libevent__on_io(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    unsigned ev = 0;
    if (what & EV_READ)
        ev |= AMI_ASYNC_READ;
    if (what & EV_WRITE)
        ev |= AMI_ASYNC_WRITE;
    ami_libevent__process((ami_libevent *)ud, ev);
}

static inline void ami_libevent__on_timer(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    ami_libevent__process((ami_libevent *)ud, 0);
}

static inline void ami_libevent__watch(ami_async *a, int fd, unsigned events, int timeout_ms,
                                       void *ud)
{
    (void)a;
    ami_libevent *c = (ami_libevent *)ud;
    if (events & AMI_ASYNC_FREED) {
        if (c->io)
            event_del(c->io);
        evtimer_del(c->timer);
        if (c->busy)
            c->dead = 1;
        else
            ami_libevent__release(c);
        return;
    }
    if (fd != c->fd || events != c->events) {
        if (c->io) {
            event_free(c->io); /* deletes it first */
            c->io = NULL;
        }
        c->fd = fd;
        c->events = events;
        if (fd >= 0 && events) {
            short what = (short)(EV_PERSIST | ((events & AMI_ASYNC_READ) ? EV_READ : 0) |
                                 ((events & AMI_ASYNC_WRITE) ? EV_WRITE : 0));
            c->io = event_new(c->base, fd, what, ami_libevent__on_io, c);
            if (c->io)
                event_add(c->io, NULL);
        }
    }
    ami_libevent__arm_timer(c, timeout_ms);
}

/* Returns the adapter state (owned by the handle), or NULL when out of
 * memory. Replaces the handle's watch callback. */
static inline ami_libevent *ami_libevent_attach(struct event_base *base, ami_async *a)
{
    ami_libevent *c = (ami_libevent *)calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base = base;
    c->a = a;
    c->fd = -1;
    c->timer = evtimer_new(base, ami_libevent__on_timer, c);
    if (!c->timer) {
        free(c);
        return NULL;
    }
    ami_async_set_watch_cb(a, ami_libevent__watch, c);
    return c;
}

#endif /* AMI_ADAPTERS_LIBEVENT_H */
