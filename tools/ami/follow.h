/* Timing shared by the commands that follow a server over time (`ami
 * events`, `ami state`, `ami top`): one place, so they reconnect, notice a
 * dead peer and stop in the same way. */
#ifndef AMI_TOOL_FOLLOW_H
#define AMI_TOOL_FOLLOW_H

/* Reconnect backoff: a tool following a restart wants to be back quickly,
 * and a cap of 10 s keeps a long outage from making it sluggish. */
#define TOOL_RECONNECT_INITIAL_MS 500
#define TOOL_RECONNECT_MAX_MS     10000
/* Keepalive while reconnecting, so a peer that vanished without a FIN (a
 * crashed host, a cut cable) is noticed and reconnected. */
#define TOOL_KEEPALIVE_MS          20000
#define TOOL_KEEPALIVE_DEADLINE_MS 10000
/* How long one poll() may block before the stop flag is checked again (a
 * signal between the check and poll() must not be lost forever). */
#define TOOL_SLICE_MS 200
/* The Logoff courtesy at the end is bounded, so exit stays prompt. */
#define TOOL_LOGOFF_MS 2000

#endif
