/*
 * Transport layer of both clients: the function table for connecting with
 * a timeout, reading and writing. The protocol code only sees this table,
 * so TCP (tcp.c) and TLS (tls.h) share everything above it (the hiredis
 * approach); the socket primitives both use are in sock.h.
 */
#ifndef AMI_NET_H
#define AMI_NET_H

#include <stddef.h>
#include <stdint.h>

#include <netdb.h>

/* Returned by read/write when the socket would block. Distinct from every
 * ami_error code. */
#define AMI__NET_AGAIN (-1000L)

/* What a handshake step waits for (poll's direction). */
#define AMI__WANT_READ  1u
#define AMI__WANT_WRITE 2u

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
    /* Optional (NULL for TCP). One non-blocking step of the handshake on a
     * connected socket, for the event-loop client: 0 when done,
     * AMI__NET_AGAIN with *want set to AMI__WANT_READ or AMI__WANT_WRITE,
     * or an ami_error code with a message in err. `host` and `port` are
     * what the application asked for (names in messages, verification). */
    int (*handshake)(ami__conn *c, const char *host, unsigned port, unsigned *want, char *err,
                     size_t err_len);
    /* Optional. Bytes already received and decoded inside the transport:
     * poll() cannot see them, so a reader must not wait while this is
     * non-zero. */
    size_t (*pending)(const ami__conn *c);
} ami__transport;

struct ami__conn {
    const ami__transport *tp;
    int fd;             /* -1 when closed; what poll() watches */
    int sys_errno;      /* errno of the last failed read or write */
    void *tp_data;      /* transport-private state (e.g. a TLS session) */
    const void *tp_cfg; /* transport settings owned by the client (TLS) */
    /* Why the last read, write or handshake failed, when errno does not say
     * (a TLS alert); empty otherwise. */
    char tp_err[512];
};

/* Plain TCP: non-blocking, close-on-exec, TCP_NODELAY, no SIGPIPE. */
extern const ami__transport ami__tcp_transport;

#endif /* AMI_NET_H */
