/*
 * TLS for both clients (OpenSSL): the settings behind ami_tls_config and
 * a transport table (net.h) that runs TLS over the plain TCP connect, so
 * the protocol code never knows which one it talks through.
 */
#ifndef AMI_TLS_INTERNAL_H
#define AMI_TLS_INTERNAL_H

#include "net.h"

#include <ami/tls.h>

struct ami_tls_config {
    char *ca_file;
    char *ca_dir;
    char *cert_file;
    char *key_file;
    char *server_name;
    int verify;
};

/* Deep copy for a client handle (NULL in, NULL out). Errors:
 * AMI_ERR_NOMEM, AMI_ERR_UNSUPPORTED without OpenSSL. */
int ami__tls_config_dup(const ami_tls_config *src, ami_tls_config **out);

/* The body of ami_client_set_tls and ami_async_set_tls: replace *slot
 * with a copy of cfg (NULL turns TLS off). On failure (AMI_ERR_NOMEM,
 * AMI_ERR_UNSUPPORTED) *slot is unchanged and err says why in words for a
 * user. */
int ami__tls_config_replace(ami_tls_config **slot, const ami_tls_config *cfg, char *err,
                            size_t err_len);

#ifdef AMI_HAVE_OPENSSL
/* TCP connect, then the TLS handshake, all within timeout_ms; the conn's
 * tp_cfg must point at the ami_tls_config to use. */
extern const ami__transport ami__tls_transport;
#endif

/* The transport for a connection with these settings (TCP when cfg is
 * NULL); sets c->tp and c->tp_cfg. Only call while c is closed. */
void ami__conn_use(ami__conn *c, const ami_tls_config *cfg);

#endif /* AMI_TLS_INTERNAL_H */
