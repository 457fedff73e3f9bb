/*
 * Plain TCP transport: connect with a timeout to every address in turn
 * (waiting in poll() on sock.c's non-blocking steps), non-blocking reads
 * and writes.
 */
#include "internal.h"
#include "net.h"
#include "sock.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Connect to one address within budget_ms (-1: no limit), with the same
 * non-blocking steps the event-loop client takes, waiting in poll(). */
static int try_address(const struct addrinfo *ai, int budget_ms, int *fd_out, int *sys)
{
    ami__conn probe;
    ami__conn_init(&probe, &ami__tcp_transport);
    int rc = ami__connect_start(&probe, ai, sys);
    if (rc == (int)AMI__NET_AGAIN) {
        uint64_t end = budget_ms < 0 ? 0 : ami__monotonic_ms() + (uint64_t)budget_ms;
        for (;;) {
            struct pollfd pfd = {.fd = probe.fd, .events = POLLOUT};
            int wait = -1;
            if (budget_ms >= 0) {
                uint64_t now = ami__monotonic_ms();
                wait = now >= end ? 0 : (int)(end - now);
            }
            int n = poll(&pfd, 1, wait);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                *sys = errno;
                rc = AMI_ERR_CONNECT;
            } else {
                rc = n == 0 ? AMI_ERR_TIMEOUT : ami__connect_finish(&probe, sys);
            }
            break;
        }
        if (rc != 0)
            close(probe.fd);
    }
    if (rc == 0)
        *fd_out = probe.fd;
    return rc;
}

static void describe_failure(int rc, int sys, const char *where, int budget_ms, char *err,
                             size_t err_len)
{
    if (rc == AMI_ERR_TIMEOUT)
        snprintf(err, err_len, "connect to %s timed out after %d ms", where, budget_ms);
    else if (rc == AMI_ERR_REFUSED)
        snprintf(err, err_len,
                 "connect to %s failed: %s (is Asterisk running and is manager.conf enabled?)",
                 where, strerror(sys));
    else
        snprintf(err, err_len, "connect to %s failed: %s", where, strerror(sys));
}

static int tcp_connect(ami__conn *c, const char *host, unsigned port, int timeout_ms, char *err,
                       size_t err_len)
{
    struct addrinfo *res = NULL;
    int rrc = ami__resolve(host, port, &res, err, err_len);
    if (rrc != 0)
        return rrc;
    char name[NI_MAXHOST];
    if (ami__strip_brackets(host, name, sizeof name) != 0)
        snprintf(name, sizeof name, "%s", host);

    size_t left = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        left++;
    uint64_t deadline = timeout_ms < 0 ? 0 : ami__monotonic_ms() + (uint64_t)timeout_ms;
    int rc = AMI_ERR_CONNECT;
    snprintf(err, err_len, "connect to %s:%u failed: no usable address", name, port);
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next, left--) {
        int budget = -1;
        if (timeout_ms >= 0) {
            uint64_t now = ami__monotonic_ms();
            if (now >= deadline) {
                snprintf(err, err_len, "connect to %s:%u timed out after %d ms", name, port,
                         timeout_ms);
                rc = AMI_ERR_TIMEOUT;
                break;
            }
            budget = (int)(deadline - now);
            /* Like curl: leave the later addresses half of what remains, so
             * one black-holed address cannot eat the whole timeout. */
            if (left > 1 && budget > 1)
                budget /= 2;
        }
        int fd = -1;
        int sys = 0;
        rc = try_address(ai, budget, &fd, &sys);
        if (rc == 0) {
            freeaddrinfo(res);
            c->fd = fd;
            c->sys_errno = 0;
            return 0;
        }
        char where[NI_MAXHOST + 16];
        ami__describe_addr(ai, where, sizeof where);
        describe_failure(rc, sys, where, budget, err, err_len);
    }
    freeaddrinfo(res);
    return rc;
}

static long tcp_read(ami__conn *c, char *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n >= 0)
            return (long)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return AMI__NET_AGAIN;
        c->sys_errno = errno;
        return AMI_ERR_IO;
    }
}

static long tcp_write(ami__conn *c, const char *buf, size_t len)
{
    for (;;) {
        /* MSG_NOSIGNAL: a peer that went away must give EPIPE, not kill the
         * application with SIGPIPE. */
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return (long)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return AMI__NET_AGAIN;
        c->sys_errno = errno;
        return AMI_ERR_IO;
    }
}

static void tcp_close(ami__conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

const ami__transport ami__tcp_transport = {
    .name = "tcp",
    .connect = tcp_connect,
    .read = tcp_read,
    .write = tcp_write,
    .close = tcp_close,
};
