/* TLS options: validation, the config, the --insecure warning. */
#include "tlsopt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tool_err("%s — see ami --help", msg);
    return TOOL_EXIT_USAGE;
}

/* Refuse an unreadable file up front, with its name, rather than as a TLS
 * error after connecting. */
static int readable(const char *opt, const char *path)
{
    if (access(path, R_OK) == 0)
        return 0;
    return usage("cannot read %s %s: %s", opt, path, strerror(errno));
}

static int check(const tool_opts *o)
{
    const char *opt = o->cafile            ? "--cafile"
                      : o->capath          ? "--capath"
                      : o->cert            ? "--cert"
                      : o->key             ? "--key"
                      : o->tls_server_name ? "--tls-server-name"
                      : o->insecure        ? "--insecure"
                                           : NULL;
    if (!o->tls && opt)
        return usage("%s only applies with --tls", opt);
    if (!o->cert != !o->key)
        return usage("%s needs %s too (a client certificate and its private key)",
                     o->cert ? "--cert" : "--key", o->cert ? "--key" : "--cert");
    if (o->insecure && (o->cafile || o->capath))
        return usage("--insecure turns verification off, so %s would be ignored — give one or "
                     "the other",
                     o->cafile ? "--cafile" : "--capath");
    int rc = 0;
    if (o->cafile)
        rc = readable("--cafile", o->cafile);
    if (!rc && o->capath && access(o->capath, X_OK) != 0)
        rc = usage("cannot use --capath %s: %s", o->capath, strerror(errno));
    if (!rc && o->cert)
        rc = readable("--cert", o->cert);
    if (!rc && o->key)
        rc = readable("--key", o->key);
    return rc;
}

/* Until libami's TLS lands (ami_tls_config_*, ami_client_set_tls,
 * ami_async_set_tls), the options are checked and --tls is refused. */
int tool_tls_config(const tool_opts *o, ami_tls_config **out)
{
    *out = NULL;
    int rc = check(o);
    if (rc || !o->tls)
        return rc;
    tool_err("--tls is not available: this libami has no TLS support yet — connect without --tls");
    return TOOL_EXIT_USAGE;
}

void tool_tls_config_free(ami_tls_config *cfg)
{
    (void)cfg;
}

int tool_tls_client(ami_client *c, const ami_tls_config *cfg)
{
    (void)c;
    return cfg ? AMI_ERR_UNSUPPORTED : 0;
}

int tool_tls_async(ami_async *a, const ami_tls_config *cfg)
{
    (void)a;
    return cfg ? AMI_ERR_UNSUPPORTED : 0;
}

int tool_tls_verify_failed(const char *msg)
{
    return msg && strstr(msg, "certificate") && strstr(msg, "verif");
}
