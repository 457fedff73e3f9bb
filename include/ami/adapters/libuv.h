/*
 * libuv adapter for ami_async, header-only (libami links no loop):
 *
 *   ami_libuv_attach(uv_default_loop(), handle);   then ami_async_start(handle)
 *
 * A uv_poll_t follows the handle's socket (a new one per socket: uv_poll
 * is bound to its fd, and is closed before libami closes the fd), a
 * uv_timer_t its next deadline; both are updated from the watch callback.
 * The adapter state is released with the handle (ami_async_free); libuv
 * closes handles asynchronously, so run the loop once more before
 * uv_loop_close().
 */
#ifndef AMI_ADAPTERS_LIBUV_H
#define AMI_ADAPTERS_LIBUV_H

#include <ami/async.h>

#include <stdlib.h>
#include <uv.h>

typedef struct ami_libuv {
    uv_loop_t *loop;
    ami_async *a;
    uv_poll_t *poll; /* NULL when no socket is watched */
    uv_timer_t timer;
    int fd;
    unsigned events;
    int busy;
    int dead;
} ami_libuv;

static inline void ami_libuv__free_handle(uv_handle_t *h)
{
    free(h);
}

static inline void ami_libuv__free_ctx(uv_handle_t *h)
{
    free(h->data);
}

static inline void ami_libuv__release(ami_libuv *c)
{
    if (c->poll) {
        uv_close((uv_handle_t *)c->poll, ami_libuv__free_handle);
        c->poll = NULL;
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, ami_libuv__free_ctx);
}

static inline void ami_libuv__on_timer(uv_timer_t *t);

static inline void ami_libuv__arm_timer(ami_libuv *c, int timeout_ms)
{
    uv_timer_stop(&c->timer);
    if (timeout_ms >= 0) {
        uv_update_time(c->loop);
        uv_timer_start(&c->timer, ami_libuv__on_timer, (uint64_t)timeout_ms, 0);
    }
}

static inline void ami_libuv__process(ami_libuv *c, unsigned events)
{
    c->busy = 1;
    ami_async_process(c->a, events);
    c->busy = 0;
    if (c->dead) {
        ami_libuv__release(c);
        return;
    }
    ami_libuv__arm_timer(c, ami_async_timeout(c->a));
}

static inline void ami_libuv__on_timer(uv_timer_t *t)
{
    ami_libuv__process((ami_libuv *)t->data, 0);
}

static inline void ami_libuv__on_poll(uv_poll_t *p, int status, int events)
{
    ami_libuv *c = (ami_libuv *)p->data;
    unsigned ev = 0;
    if (status < 0) /* an error on the socket: let a read find out */
        ev = AMI_ASYNC_READ | AMI_ASYNC_WRITE;
    if (events & UV_READABLE)
        ev |= AMI_ASYNC_READ;
    if (events & UV_WRITABLE)
        ev |= AMI_ASYNC_WRITE;
    ami_libuv__process(c, ev);
}

static inline void ami_libuv__watch(ami_async *a, int fd, unsigned events, int timeout_ms, void *ud)
{
    (void)a;
    ami_libuv *c = (ami_libuv *)ud;
    if (events & AMI_ASYNC_FREED) {
        if (c->busy)
            c->dead = 1;
        else
            ami_libuv__release(c);
        return;
    }
    if (fd != c->fd && c->poll) {
        uv_poll_stop(c->poll);
        uv_close((uv_handle_t *)c->poll, ami_libuv__free_handle);
        c->poll = NULL;
    }
    c->fd = fd;
    if (fd >= 0 && !c->poll) {
        c->poll = (uv_poll_t *)calloc(1, sizeof *c->poll);
        if (c->poll && uv_poll_init(c->loop, c->poll, fd) != 0) {
            free(c->poll);
            c->poll = NULL;
        }
        if (c->poll)
            c->poll->data = c;
        c->events = 0;
    }
    if (c->poll && events != c->events) {
        c->events = events;
        int uvev = ((events & AMI_ASYNC_READ) ? UV_READABLE : 0) |
                   ((events & AMI_ASYNC_WRITE) ? UV_WRITABLE : 0);
        if (uvev)
            uv_poll_start(c->poll, uvev, ami_libuv__on_poll);
        else
            uv_poll_stop(c->poll);
    }
    ami_libuv__arm_timer(c, timeout_ms);
}

/* Returns the adapter state (owned by the handle), or NULL when out of
 * memory. Replaces the handle's watch callback. */
static inline ami_libuv *ami_libuv_attach(uv_loop_t *loop, ami_async *a)
{
    ami_libuv *c = (ami_libuv *)calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = loop;
    c->a = a;
    c->fd = -1;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    ami_async_set_watch_cb(a, ami_libuv__watch, c);
    return c;
}

#endif /* AMI_ADAPTERS_LIBUV_H */
