/*
 * Socket and address primitives below both transports and both clients:
 * the clock, resolving, "host:port" text, and a non-blocking connect in
 * steps that never waits (the event-loop client drives it from its loop,
 * the TCP transport from poll()).
 */
#include "internal.h"
#include "sock.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

int ami__strip_brackets(const char *host, char *out, size_t out_len)
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
    if (port == 0 || port > 65535 || ami__strip_brackets(host, name, sizeof name) != 0) {
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

static void tune(int fd)
{
    /* AMI is request/response with small packets: Nagle only adds latency. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int ami__connect_start(ami__conn *c, const struct addrinfo *ai, int *sys)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *sys = errno;
        return AMI_ERR_CONNECT;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        tune(fd);
        c->fd = fd;
        return 0;
    }
    if (errno == EINPROGRESS || errno == EINTR) {
        c->fd = fd;
        return (int)AMI__NET_AGAIN;
    }
    *sys = errno;
    close(fd);
    return *sys == ECONNREFUSED ? AMI_ERR_REFUSED : AMI_ERR_CONNECT;
}

int ami__connect_finish(ami__conn *c, int *sys)
{
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        soerr = errno;
    if (soerr != 0) {
        *sys = soerr;
        return soerr == ECONNREFUSED ? AMI_ERR_REFUSED : AMI_ERR_CONNECT;
    }
    tune(c->fd);
    return 0;
}

void ami__describe_addr(const struct addrinfo *ai, char *buf, size_t len)
{
    char num[NI_MAXHOST];
    char port[16];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof num, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, len, "?");
        return;
    }
    unsigned p = 0;
    sscanf(port, "%u", &p);
    ami__format_hostport(buf, len, num, p);
}
