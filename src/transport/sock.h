/*
 * Socket primitives (sock.c) below both transports and both clients: the
 * monotonic clock, resolving, "host:port" text, and a step-by-step TCP
 * connect: start a non-blocking connect, check it once the socket is
 * writable. The TCP transport's connect() (tcp.c) waits for these with
 * poll(); the event-loop client waits in its loop. Once connected, bytes
 * move through the transport table (net.h).
 */
#ifndef AMI_SOCK_H
#define AMI_SOCK_H

#include "net.h"

#include <netdb.h>

/* Initialise an unconnected conn using transport tp. */
void ami__conn_init(ami__conn *c, const ami__transport *tp);

/* Milliseconds on CLOCK_MONOTONIC: the clock the client hands the session. */
uint64_t ami__monotonic_ms(void);

/* "host:port", or "[v6]:port" for IPv6 literals, into buf. */
void ami__format_hostport(char *buf, size_t len, const char *host, unsigned port);

/* "[::1]" -> "::1" into out (getaddrinfo does not accept the bracketed
 * form). -1 when empty or longer than out_len - 1. */
int ami__strip_brackets(const char *host, char *out, size_t out_len);

/* Resolve host (brackets allowed) and port to stream addresses. Returns 0,
 * AMI_ERR_INVALID or AMI_ERR_RESOLVE with a message in err. Blocks for as
 * long as getaddrinfo() takes. Free *out with freeaddrinfo(). */
int ami__resolve(const char *host, unsigned port, struct addrinfo **out, char *err, size_t err_len);

/* Open a non-blocking socket to ai and start connecting. Returns 0 when
 * already connected, AMI__NET_AGAIN when in progress (wait until
 * writable), or AMI_ERR_REFUSED / AMI_ERR_CONNECT with *sys set. c->fd is
 * set unless an error is returned. */
int ami__connect_start(ami__conn *c, const struct addrinfo *ai, int *sys);

/* After writability: 0 when connected, else AMI_ERR_REFUSED /
 * AMI_ERR_CONNECT with *sys set (the caller closes c). */
int ami__connect_finish(ami__conn *c, int *sys);

/* "1.2.3.4:5038" / "[::1]:5038" of ai, for messages. */
void ami__describe_addr(const struct addrinfo *ai, char *buf, size_t len);

#endif /* AMI_SOCK_H */
