/*
 * Plain TCP transport: resolve, connect with a timeout to every address in
 * turn, non-blocking reads and writes.
 */
#include "net.h"
#include "sock.h"
#include "internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t ami__monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ami__conn_init(ami__conn *c, const ami__transport *tp)
{
    c->tp = tp;
    c->fd = -1;
    c->sys_errno = 0;
    c->tp_data = NULL;
    c->tp_cfg = NULL;
    c->tp_err[0] = '\0';
}

void ami__format_hostport(char *buf, size_t len, const char *host, unsigned port)
{
    /* A bare IPv6 literal needs brackets, or the port reads as part of it. */
    if (strchr(host, ':') && host[0] != '[')
        snprintf(buf, len, "[%s]:%u", host, port);
    else
        snprintf(buf, len, "%s:%u", host, port);
}

/* "[::1]" -> "::1": getaddrinfo does not accept the bracketed form. */
static int strip_brackets(const char *host, char *out, size_t out_len)
{
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len == 0 || len >= out_len)
        return -1;
    memcpy(out, host, len);
    out[len] = '\0';
    return 0;
}

int ami__resolve(const char *host, unsigned port, struct addrinfo **out, char *err, size_t err_len)
{
    *out = NULL;
    char name[NI_MAXHOST];
    if (port == 0 || port > 65535 || strip_brackets(host, name, sizeof name) != 0) {
        snprintf(err, err_len, "invalid host or port");
        return AMI_ERR_INVALID;
    }
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    /* No AI_ADDRCONFIG: it hides ::1 on hosts without a global IPv6
     * address, and loopback is exactly what tests and local setups use. */
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int grc = getaddrinfo(name, service, &hints, out);
    if (grc != 0) {
        snprintf(err, err_len, "cannot resolve host '%s': %s", name,
                 grc == EAI_SYSTEM ? strerror(errno) : gai_strerror(grc));
        *out = NULL;
        return AMI_ERR_RESOLVE;
    }
    return 0;
}

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
    if (strip_brackets(host, name, sizeof name) != 0)
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
