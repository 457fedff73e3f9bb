/*
 * A tiny poll() loop for programs without an event loop of their own:
 * drives N ami_async handles until a condition holds or a time runs out.
 * Header-only: nothing here is compiled into libami.
 *
 *   static int done(void *ud) { return *(int *)ud; }
 *   ami_poll_loop(handles, n, 10000, done, &flag);
 *
 * Each turn asks every handle for its fd, wanted events and timeout
 * (ami_async_fd / ami_async_events / ami_async_timeout), sleeps in poll()
 * until the earliest of them, and reports what happened with
 * ami_async_process(). NULL entries in `handles` are skipped, so a program
 * may free a handle and clear its slot from inside a callback.
 */
#ifndef AMI_ADAPTERS_POLL_H
#define AMI_ADAPTERS_POLL_H

#include <ami/async.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

/* Returns 1 when done() became true, 0 when timeout_ms passed (-1: no
 * limit; then done must become true), -1 on a poll() or memory failure
 * (errno set). done may be NULL: run until the timeout. */
static inline int ami_poll_loop(ami_async *const *handles, size_t n, int timeout_ms,
                                int (*done)(void *ud), void *ud)
{
    struct pollfd stack_fds[16];
    struct pollfd *fds = n <= 16 ? stack_fds : (struct pollfd *)calloc(n, sizeof *fds);
    if (!fds)
        return -1;
    uint64_t end = timeout_ms < 0 ? UINT64_MAX : ami_async_now() + (uint64_t)timeout_ms;
    int rc = 0;
    for (;;) {
        if (done && done(ud)) {
            rc = 1;
            break;
        }
        uint64_t now = ami_async_now();
        if (now >= end)
            break;
        uint64_t wake = end;
        for (size_t i = 0; i < n; i++) {
            fds[i].fd = -1;
            fds[i].events = 0;
            fds[i].revents = 0;
            if (!handles[i])
                continue;
            unsigned ev = ami_async_events(handles[i]);
            fds[i].fd = ev ? ami_async_fd(handles[i]) : -1;
            fds[i].events = (short)(((ev & AMI_ASYNC_READ) ? POLLIN : 0) |
                                    ((ev & AMI_ASYNC_WRITE) ? POLLOUT : 0));
            uint64_t d = ami_async_deadline(handles[i]);
            if (d < wake)
                wake = d;
        }
        int wait = -1;
        if (wake != UINT64_MAX)
            wait = wake <= now ? 0 : (wake - now > 60000 ? 60000 : (int)(wake - now));
        int r = poll(fds, (nfds_t)n, wait);
        if (r < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        now = ami_async_now();
        for (size_t i = 0; i < n; i++) {
            if (!handles[i])
                continue;
            unsigned ev = 0;
            if (r > 0 && fds[i].fd >= 0) {
                if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
                    ev |= AMI_ASYNC_READ;
                if (fds[i].revents & (POLLOUT | POLLHUP | POLLERR))
                    ev |= AMI_ASYNC_WRITE;
            }
            if (ev || ami_async_deadline(handles[i]) <= now)
                ami_async_process(handles[i], ev);
        }
    }
    if (fds != stack_fds)
        free(fds);
    return rc;
}

#endif /* AMI_ADAPTERS_POLL_H */
