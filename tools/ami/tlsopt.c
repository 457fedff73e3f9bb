/* TLS options: validation, the config, the --insecure warning. */
#include "tlsopt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Refuse an unreadable file up front, with its name, rather than as a TLS
 * error after connecting. */
static int readable(const char *opt, const char *path)
{
    if (access(path, R_OK) == 0)
        return 0;
    return tool_usage_error("cannot read %s %s: %s", opt, path, strerror(errno));
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
        return tool_usage_error("%s only applies with --tls", opt);
    if (!o->cert != !o->key)
        return tool_usage_error("%s needs %s too (a client certificate and its private key)",
                                o->cert ? "--cert" : "--key", o->cert ? "--key" : "--cert");
    if (o->insecure && (o->cafile || o->capath))
        return tool_usage_error(
            "--insecure turns verification off, so %s would be ignored — give one or "
            "the other",
            o->cafile ? "--cafile" : "--capath");
    int rc = 0;
    if (o->cafile)
        rc = readable("--cafile", o->cafile);
    if (!rc && o->capath && access(o->capath, X_OK) != 0)
        rc = tool_usage_error("cannot use --capath %s: %s", o->capath, strerror(errno));
    if (!rc && o->cert)
        rc = readable("--cert", o->cert);
    if (!rc && o->key)
        rc = readable("--key", o->key);
    return rc;
}

static int failed(ami_tls_config *cfg, int rc)
{
    ami_tls_config_free(cfg);
    if (rc == AMI_ERR_NOMEM)
        tool_oom();
    if (rc == AMI_ERR_UNSUPPORTED)
        tool_err("--tls is not available: this libami was built without OpenSSL — rebuild it "
                 "with OpenSSL or connect without --tls");
    else
        tool_err("the TLS options were refused: %s — check --cafile, --capath, --cert, --key and "
                 "--tls-server-name",
                 ami_strerror(rc));
    return rc == AMI_ERR_UNSUPPORTED ? TOOL_EXIT_USAGE : TOOL_EXIT_CONNECTION;
}

int tool_tls_config(const tool_opts *o, ami_tls_config **out)
{
    *out = NULL;
    int rc = check(o);
    if (rc || !o->tls)
        return rc;
    ami_tls_config *cfg = NULL;
    rc = ami_tls_config_create(&cfg);
    if (rc)
        return failed(NULL, rc);
    if (o->cafile && (rc = ami_tls_config_set_ca_file(cfg, o->cafile)) != 0)
        return failed(cfg, rc);
    if (o->capath && (rc = ami_tls_config_set_ca_dir(cfg, o->capath)) != 0)
        return failed(cfg, rc);
    if (o->cert && (rc = ami_tls_config_set_cert(cfg, o->cert, o->key)) != 0)
        return failed(cfg, rc);
    if (o->tls_server_name && (rc = ami_tls_config_set_server_name(cfg, o->tls_server_name)) != 0)
        return failed(cfg, rc);
    if (o->insecure) {
        if ((rc = ami_tls_config_set_verify(cfg, 0)) != 0)
            return failed(cfg, rc);
        /* Every time: a flag left in a script must keep saying what it does. */
        tool_err("warning: --insecure: the server's certificate and host name are NOT verified; "
                 "anyone on the network path can read and change this session — use --cafile "
                 "FILE instead");
    }
    *out = cfg;
    return 0;
}

void tool_tls_config_free(ami_tls_config *cfg)
{
    ami_tls_config_free(cfg);
}

int tool_tls_client(ami_client *c, const ami_tls_config *cfg)
{
    return cfg ? ami_client_set_tls(c, cfg) : 0;
}

int tool_tls_async(ami_async *a, const ami_tls_config *cfg)
{
    return cfg ? ami_async_set_tls(a, cfg) : 0;
}

void tool_tls_verify_err(const char *prefix, const char *msg, const char *then)
{
    /* libami says what failed; the advice is the tool's, in terms of its
     * options. */
    if (strstr(msg, "hostname mismatch") || strstr(msg, "IP address mismatch"))
        tool_err("%s%s%s — the server's certificate does not list that name: connect with -H "
                 "by a name it lists, or give the name with --tls-server-name",
                 prefix, msg, then);
    else
        tool_err("%s%s%s — the server's certificate did not verify: pass --cafile FILE with "
                 "the CA that signed it (or --capath DIR)",
                 prefix, msg, then);
}
