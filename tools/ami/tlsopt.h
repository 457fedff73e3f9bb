/*
 * The TLS options (--tls, --cafile, --capath, --cert/--key,
 * --tls-server-name, --insecure) turned into an ami_tls_config, shared by
 * every network command.
 */
#ifndef AMI_TOOL_TLSOPT_H
#define AMI_TOOL_TLSOPT_H

#include "tool.h"

#include <ami/async.h>
#include <ami/tls.h>

/* *out is NULL without --tls. Checks the options (each needs --tls; --cert
 * and --key go together; the files must be readable) and prints the
 * --insecure warning. Returns 0 or an exit status after a message. */
int tool_tls_config(const tool_opts *o, ami_tls_config **out);
void tool_tls_config_free(ami_tls_config *cfg);
/* Apply a config (NULL: nothing to do). Return 0 or a libami error. */
int tool_tls_client(ami_client *c, const ami_tls_config *cfg);
int tool_tls_async(ami_async *a, const ami_tls_config *cfg);

/* Report a certificate that did not verify: "ami: <prefix><what failed>
 * <then> — <what to do>", where what to do depends on why (unknown CA or
 * a name the certificate does not list) and names the tool's options. */
void tool_tls_verify_err(const char *prefix, const char *msg, const char *then);

#endif
