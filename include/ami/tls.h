/*
 * TLS settings for AMI over TLS (Asterisk's manager.conf `tlsenable`, port
 * 5039 by convention), shared by the blocking and the event-loop clients.
 *
 * Verification of the server certificate and of its host name is ON by
 * default and can only be turned off by an explicit call
 * (ami_tls_config_set_verify(cfg, 0)); there is no environment variable
 * or silent fallback. Built without OpenSSL, every function returns
 * AMI_ERR_UNSUPPORTED.
 *
 * Ownership: the caller owns the config; ami_client_set_tls and
 * ami_async_set_tls copy what they need, so the config may be freed right
 * after. Strings are copied.
 *
 * Errors of every setter: AMI_ERR_INVALID (a NULL config; for set_cert,
 * a certificate without its key or the reverse), AMI_ERR_NOMEM,
 * AMI_ERR_UNSUPPORTED (no OpenSSL). None is fatal; a refused call leaves
 * the config as it was. Files are only read when a connection starts (a
 * bad file fails that connect with AMI_ERR_TLS). These are plain data
 * functions, allowed anywhere, client callbacks included. An empty or
 * NULL path or name clears that setting.
 */
#ifndef AMI_TLS_H
#define AMI_TLS_H

#include <ami/ami.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ami_tls_config ami_tls_config;

/* Errors: AMI_ERR_INVALID (out NULL), AMI_ERR_NOMEM, AMI_ERR_UNSUPPORTED. */
AMI_EXPORT int ami_tls_config_create(ami_tls_config **out);
AMI_EXPORT void ami_tls_config_free(ami_tls_config *cfg);

/* Trust anchors: a PEM file and/or a hashed directory. Without either, the
 * system's default store is used. */
AMI_EXPORT int ami_tls_config_set_ca_file(ami_tls_config *cfg, const char *path);
AMI_EXPORT int ami_tls_config_set_ca_dir(ami_tls_config *cfg, const char *path);
/* Client certificate and its private key (PEM files). */
AMI_EXPORT int ami_tls_config_set_cert(ami_tls_config *cfg, const char *cert_file,
                                       const char *key_file);
/* Name sent as SNI and checked against the certificate; default: the host
 * given to connect (for an IP literal, the certificate's IP SAN is checked
 * and no SNI is sent). */
AMI_EXPORT int ami_tls_config_set_server_name(ami_tls_config *cfg, const char *name);
/* verify == 0 disables certificate and host-name verification (insecure;
 * only for tests and explicit user request). Default 1. */
AMI_EXPORT int ami_tls_config_set_verify(ami_tls_config *cfg, int verify);

#ifdef __cplusplus
}
#endif

#endif /* AMI_TLS_H */
