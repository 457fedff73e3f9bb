/*
 * A loopback TCP port that the test owns but nobody listens on: a socket
 * bound to 127.0.0.1 (SO_REUSEADDR) that never calls listen(). Connecting
 * to it is refused at once, and no other process's bind(port 0) can be
 * given it while it is held, so "nothing listens here" stays true however
 * busy the machine is (a port freed by killing a server may be handed to
 * the next server any other test starts). ami-sim binds with SO_REUSEADDR
 * too, so it can listen on a held port; once that ami-sim is killed the
 * port refuses again, and a restart on it cannot lose it to a stranger.
 */
#ifndef AMI_TEST_PORT_HOLD_H
#define AMI_TEST_PORT_HOLD_H

/* Bind a fresh loopback port (any free one) and hold it. Returns the
 * socket (>= 0; close it to release the port) and sets *port, or -1 with
 * a message on stderr. */
int port_hold(unsigned *port);

#endif /* AMI_TEST_PORT_HOLD_H */
