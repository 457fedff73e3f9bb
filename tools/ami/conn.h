/*
 * Connection options (-H/-p/-u, AMI_HOST/AMI_PORT/AMI_USER), connecting and
 * logging in, and turning libami error codes into exit statuses and
 * messages that say what failed and what to do.
 */
#ifndef AMI_TOOL_CONN_H
#define AMI_TOOL_CONN_H

#include "tool.h"

/* Apply environment defaults and split host[:port]. Returns 0 or an exit
 * status (usage error) after a message. */
int tool_conn_settle(tool_opts *o);
/* tool_conn_settle, then the TLS settings (*tls NULL without --tls; the
 * caller frees it with tool_tls_config_free): the opening of the commands
 * that drive their own event-loop clients. Returns 0 or an exit status
 * after a message (nothing to free then). */
int tool_conn_settle_tls(tool_opts *o, ami_tls_config **tls);

/* "host:port", with brackets around an IPv6 literal. */
const char *tool_conn_where(const tool_opts *o);

/* Connect and log in with the given Events: mask. Returns 0 with *out, or
 * an exit status after a message. */
int tool_conn_open(tool_opts *o, const char *events, ami_client **out);

/* Log off politely (unless the server already said Goodbye) and free. */
void tool_conn_close(tool_opts *o, ami_client *c);

/* Report a failed ami_client_call for action `name`; returns the exit
 * status. */
int tool_conn_call_failed(tool_opts *o, ami_client *c, const char *name, int rc,
                          const ami_result *r);

#endif
