/*
 * The wire form of actions (action.c), for the session that queues them
 * and for the clients that check values up front. Never installed.
 */
#ifndef AMI_ACTION_INTERNAL_H
#define AMI_ACTION_INTERNAL_H

#include "internal.h"

/* 0 when `s` may be sent as a header value (no CR, LF or NUL), else
 * AMI_ERR_INJECTION. */
int ami__check_value(const char *s, size_t len);

/* Bytes the action takes on the wire. `id` (may be NULL) is written as
 * the ActionID right after Action: and every ActionID header of the action
 * is skipped; with NULL the action's own headers go out unchanged.
 * Returns 0, AMI_ERR_INJECTION / AMI_ERR_TOO_LONG for a bad id, or
 * AMI_ERR_TOO_MANY when the added ActionID would exceed the line limit. */
int ami__action_wire_size(const ami_action *a, const char *id, size_t id_len, size_t *out);
/* Write exactly the bytes counted by ami__action_wire_size(). */
void ami__action_write(const ami_action *a, const char *id, size_t id_len, char *dst);

#endif /* AMI_ACTION_INTERNAL_H */
