/*
 * libev adapter for ami_async, header-only (libami links no loop):
 *
 *   ami_libev_attach(EV_DEFAULT, handle);   then ami_async_start(handle)
 *
 * One ev_io follows the handle's fd and wanted events, one ev_timer its
 * next deadline; both are updated from the watch callback, so nothing
 * polls. The adapter state is freed with the handle (ami_async_free).
 */
#ifndef AMI_ADAPTERS_LIBEV_H
#define AMI_ADAPTERS_LIBEV_H

#include <ami/async.h>

#include <ev.h>
#include <stdlib.h>

typedef struct ami_libev {
    struct ev_loop *loop;
    ami_async *a;
    ev_io io;
    ev_timer timer;
    int fd;
    unsigned events;
    int busy; /* inside ami_async_process: a free must wait */
    int dead;
} ami_libev;

static inline void ami_libev__arm_timer(ami_libev *c, int timeout_ms)
{
    ev_timer_stop(c->loop, &c->timer);
    if (timeout_ms >= 0) {
        /* ev_now may lag; an early wake-up is harmless, it re-arms. */
        ev_now_update(c->loop);
        ev_timer_set(&c->timer, timeout_ms / 1000.0, 0.);
        ev_timer_start(c->loop, &c->timer);
    }
}

static inline void ami_libev__release(ami_libev *c)
{
    ev_io_stop(c->loop, &c->io);
    ev_timer_stop(c->loop, &c->timer);
    free(c);
}

static inline void ami_libev__process(ami_libev *c, unsigned events)
{
    c->busy = 1;
    ami_async_process(c->a, events);
    c->busy = 0;
    if (c->dead) {
        ami_libev__release(c);
        return;
    }
    ami_libev__arm_timer(c, ami_async_timeout(c->a));
}

static inline void ami_libev__on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    unsigned ev = 0;
    if (revents & EV_READ)
        ev |= AMI_ASYNC_READ;
    if (revents & EV_WRITE)
        ev |= AMI_ASYNC_WRITE;
    ami_libev__process((ami_libev *)w->data, ev);
}

static inline void ami_libev__on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    ami_libev__process((ami_libev *)w->data, 0);
}

static inline void ami_libev__watch(ami_async *a, int fd, unsigned events, int timeout_ms, void *ud)
{
    (void)a;
    ami_libev *c = (ami_libev *)ud;
    if (events & AMI_ASYNC_FREED) {
        ev_io_stop(c->loop, &c->io);
        ev_timer_stop(c->loop, &c->timer);
        if (c->busy)
            c->dead = 1;
        else
            free(c);
        return;
    }
    if (fd != c->fd || events != c->events) {
        ev_io_stop(c->loop, &c->io);
        c->fd = fd;
        c->events = events;
        if (fd >= 0 && events) {
            ev_io_set(&c->io, fd,
                      ((events & AMI_ASYNC_READ) ? EV_READ : 0) |
                          ((events & AMI_ASYNC_WRITE) ? EV_WRITE : 0));
            ev_io_start(c->loop, &c->io);
        }
    }
    ami_libev__arm_timer(c, timeout_ms);
}

/* Returns the adapter state (owned by the handle), or NULL when out of
 * memory. Replaces the handle's watch callback. */
static inline ami_libev *ami_libev_attach(struct ev_loop *loop, ami_async *a)
{
    ami_libev *c = (ami_libev *)calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = loop;
    c->a = a;
    c->fd = -1;
    ev_io_init(&c->io, ami_libev__on_io, 0, 0);
    ev_timer_init(&c->timer, ami_libev__on_timer, 0., 0.);
    c->io.data = c;
    c->timer.data = c;
    ami_async_set_watch_cb(a, ami_libev__watch, c);
    return c;
}

#endif /* AMI_ADAPTERS_LIBEV_H */
