/*
 * Transport layer of the blocking client: name resolution, connecting with
 * a timeout, reading and writing. The protocol code only sees the function
 * table below, so a TLS transport can be added later as another table
 * without touching the client or the session (the hiredis approach).
 */
#ifndef AMI_NET_H
#define AMI_NET_H

#include <stddef.h>
#include <stdint.h>

/* Returned by read/write when the socket would block. Distinct from every
 * ami_error code. */
#define AMI__NET_AGAIN (-1000L)

typedef struct ami__conn ami__conn;

typedef struct ami__transport {
    const char *name;
    /* Connect to host:port within timeout_ms (-1: no limit). On failure
     * returns an ami_error code and writes a message into err. */
    int (*connect)(ami__conn *c, const char *host, unsigned port, int timeout_ms, char *err,
                   size_t err_len);
    /* Bytes read (> 0), 0 on end of stream, AMI__NET_AGAIN, or AMI_ERR_IO
     * with c->sys_errno set. */
    long (*read)(ami__conn *c, char *buf, size_t len);
    /* Bytes written (> 0), AMI__NET_AGAIN, or AMI_ERR_IO with c->sys_errno. */
    long (*write)(ami__conn *c, const char *buf, size_t len);
    void (*close)(ami__conn *c);
} ami__transport;

struct ami__conn {
    const ami__transport *tp;
    int fd;        /* -1 when closed; what poll() watches */
    int sys_errno; /* errno of the last failed read or write */
    void *tp_data; /* transport-private state (e.g. a TLS session) */
};

/* Plain TCP: non-blocking, close-on-exec, TCP_NODELAY, no SIGPIPE. */
extern const ami__transport ami__tcp_transport;

/* Initialise an unconnected conn using transport tp. */
void ami__conn_init(ami__conn *c, const ami__transport *tp);

/* Milliseconds on CLOCK_MONOTONIC: the clock the client hands the session. */
uint64_t ami__monotonic_ms(void);

/* "host:port", or "[v6]:port" for IPv6 literals, into buf. */
void ami__format_hostport(char *buf, size_t len, const char *host, unsigned port);

#endif /* AMI_NET_H */
