/*
 * A throw-away PKI for TLS tests, made at run time with the `openssl`
 * command into a fresh temporary directory (no key is ever committed):
 *
 *   ca            the test CA
 *   server        issued by ca for DNS:localhost and IP:127.0.0.1
 *   server_dns    issued by ca for DNS:localhost only (no IP SAN)
 *   client        a client certificate issued by ca
 *   other_ca      an unrelated CA (the "unknown CA" case)
 *   other_server  issued by other_ca for DNS:localhost and IP:127.0.0.1
 */
#ifndef AMI_TEST_TLS_CA_H
#define AMI_TEST_TLS_CA_H

#define TLS_CA_PATH 512

typedef struct tls_ca {
    char dir[256];
    char ca[TLS_CA_PATH];
    char server_cert[TLS_CA_PATH], server_key[TLS_CA_PATH];
    char dns_cert[TLS_CA_PATH], dns_key[TLS_CA_PATH];
    char client_cert[TLS_CA_PATH], client_key[TLS_CA_PATH];
    char other_ca[TLS_CA_PATH];
    char other_cert[TLS_CA_PATH], other_key[TLS_CA_PATH];
} tls_ca;

/* Returns 0, or -1 with a message on stderr (no openssl command, or it
 * failed). */
int tls_ca_create(tls_ca *t);

/* Removes the files and the directory. */
void tls_ca_destroy(tls_ca *t);

struct sim_process;
struct ami_tls_config;

/* Start ami-sim serving TLS with cert/key, requiring client certificates
 * issued by client_ca when not NULL, and sending a firehose of that many
 * events (as text) when not NULL, with its write timeout off so a slow run
 * (valgrind) measures completeness, not speed. Returns sim_process_start's
 * result. */
int tls_sim_start(struct sim_process *sp, const char *cert, const char *key, const char *client_ca,
                  const char *firehose);

/* A TLS config trusting cafile (if not NULL), checking server_name (if not
 * NULL); NULL when a setter failed. Free with ami_tls_config_free. */
struct ami_tls_config *tls_test_config(const char *cafile, const char *server_name);

#endif /* AMI_TEST_TLS_CA_H */
