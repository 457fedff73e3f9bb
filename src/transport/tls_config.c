/*
 * ami_tls_config: plain settings, copied into each client handle. Kept
 * apart from tls.c so the setters exist (and say AMI_ERR_UNSUPPORTED) in a
 * build without OpenSSL.
 */
#include "internal.h"
#include "tls.h"

#include <stdio.h>
#include <string.h>

#ifdef AMI_HAVE_OPENSSL
#define TLS_BUILT 1
#else
#define TLS_BUILT 0
#endif

int ami_tls_config_create(ami_tls_config **out)
{
    if (!out)
        return AMI_ERR_INVALID;
    *out = NULL;
    if (!TLS_BUILT)
        return AMI_ERR_UNSUPPORTED;
    ami_tls_config *cfg = ami__calloc(1, sizeof *cfg);
    if (!cfg)
        return AMI_ERR_NOMEM;
    /* Secure by default: only an explicit set_verify(cfg, 0) turns it off. */
    cfg->verify = 1;
    *out = cfg;
    return 0;
}

void ami_tls_config_free(ami_tls_config *cfg)
{
    if (!cfg)
        return;
    ami__free(cfg->ca_file);
    ami__free(cfg->ca_dir);
    ami__free(cfg->cert_file);
    ami__free(cfg->key_file);
    ami__free(cfg->server_name);
    ami__free(cfg);
}

/* Replace *slot with a copy of value (NULL clears it). */
static int set_str(char **slot, const char *value)
{
    char *copy = NULL;
    if (value) {
        copy = ami__strdup(value);
        if (!copy)
            return AMI_ERR_NOMEM;
    }
    ami__free(*slot);
    *slot = copy;
    return 0;
}

static int check(const ami_tls_config *cfg)
{
    if (!TLS_BUILT)
        return AMI_ERR_UNSUPPORTED;
    return cfg ? 0 : AMI_ERR_INVALID;
}

int ami_tls_config_set_ca_file(ami_tls_config *cfg, const char *path)
{
    int rc = check(cfg);
    return rc != 0 ? rc : set_str(&cfg->ca_file, path && *path ? path : NULL);
}

int ami_tls_config_set_ca_dir(ami_tls_config *cfg, const char *path)
{
    int rc = check(cfg);
    return rc != 0 ? rc : set_str(&cfg->ca_dir, path && *path ? path : NULL);
}

int ami_tls_config_set_cert(ami_tls_config *cfg, const char *cert_file, const char *key_file)
{
    int rc = check(cfg);
    if (rc != 0)
        return rc;
    /* A key without a certificate (or the reverse) is a mistake, not a
     * request for "no client certificate". */
    if (!cert_file != !key_file)
        return AMI_ERR_INVALID;
    char *cert = NULL;
    char *key = NULL;
    if (set_str(&cert, cert_file) != 0 || set_str(&key, key_file) != 0) {
        ami__free(cert);
        return AMI_ERR_NOMEM;
    }
    ami__free(cfg->cert_file);
    ami__free(cfg->key_file);
    cfg->cert_file = cert;
    cfg->key_file = key;
    return 0;
}

int ami_tls_config_set_server_name(ami_tls_config *cfg, const char *name)
{
    int rc = check(cfg);
    return rc != 0 ? rc : set_str(&cfg->server_name, name && *name ? name : NULL);
}

int ami_tls_config_set_verify(ami_tls_config *cfg, int verify)
{
    int rc = check(cfg);
    if (rc == 0)
        cfg->verify = verify != 0;
    return rc;
}

int ami__tls_config_dup(const ami_tls_config *src, ami_tls_config **out)
{
    *out = NULL;
    if (!src)
        return 0;
    ami_tls_config *cfg = NULL;
    int rc = ami_tls_config_create(&cfg);
    if (rc != 0)
        return rc;
    cfg->verify = src->verify;
    if (set_str(&cfg->ca_file, src->ca_file) != 0 || set_str(&cfg->ca_dir, src->ca_dir) != 0 ||
        set_str(&cfg->cert_file, src->cert_file) != 0 ||
        set_str(&cfg->key_file, src->key_file) != 0 ||
        set_str(&cfg->server_name, src->server_name) != 0) {
        ami_tls_config_free(cfg);
        return AMI_ERR_NOMEM;
    }
    *out = cfg;
    return 0;
}

void ami__conn_use(ami__conn *c, const ami_tls_config *cfg)
{
#ifdef AMI_HAVE_OPENSSL
    c->tp = cfg ? &ami__tls_transport : &ami__tcp_transport;
#else
    c->tp = &ami__tcp_transport;
#endif
    c->tp_cfg = cfg;
    c->tp_err[0] = '\0';
}

int ami__tls_config_replace(ami_tls_config **slot, const ami_tls_config *cfg, char *err,
                            size_t err_len)
{
    ami_tls_config *copy = NULL;
    int rc = ami__tls_config_dup(cfg, &copy);
    if (rc != 0) {
        snprintf(err, err_len, "%s",
                 rc == AMI_ERR_UNSUPPORTED
                     ? "TLS is not available: libami was built without OpenSSL"
                     : ami_strerror(rc));
        return rc;
    }
    /* A connection in progress keeps its own TLS state; this is for the
     * next one. */
    ami_tls_config_free(*slot);
    *slot = copy;
    return 0;
}
