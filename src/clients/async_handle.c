/*
 * The bottom of the event-loop client, below async_io.c and async_conn.c:
 * the handle's error text, its state changes and the record of a loss to
 * be handled. async.c (the API) calls async_conn.c (the connection's life
 * cycle), which calls async_io.c (bytes and delivery); all three call this
 * file, and nothing here calls back up.
 */
#include "async_internal.h"

#include <stdarg.h>
#include <stdio.h>

void ami__async_set_err(ami_async *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->errmsg, sizeof a->errmsg, fmt, ap);
    va_end(ap);
}

void ami__async_set_state(ami_async *a, ami_async_state st, ami_async_reason why)
{
    a->state = st;
    if (!a->state_cb)
        return;
    a->in_cb++;
    a->state_cb(a, st, why, a->state_ud);
    a->in_cb--;
}

void ami__async_defer_loss(ami_async *a, ami_async_reason why, int code, const char *msg)
{
    if (a->close_pending)
        return; /* the first cause is the one reported */
    a->close_pending = 1;
    a->close_reason = why;
    a->close_code = code;
    snprintf(a->close_msg, sizeof a->close_msg, "%s", msg);
}
