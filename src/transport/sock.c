/* Non-blocking connect in steps, for the event-loop client. */
#include "internal.h"
#include "sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
