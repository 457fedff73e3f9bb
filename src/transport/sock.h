/*
 * Step-by-step TCP connect for the event-loop client: resolve, start a
 * non-blocking connect, check it once the socket is writable. The blocking
 * transport's connect() waits with poll(); these never wait. Once
 * connected, bytes move through the same transport table (net.h).
 */
#ifndef AMI_SOCK_H
#define AMI_SOCK_H

#include "net.h"

#include <netdb.h>

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
