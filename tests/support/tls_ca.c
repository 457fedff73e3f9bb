/* Throw-away CA and certificates for TLS tests, via the openssl command. */
#include "tls_ca.h"
#include "sim_process.h"

#include <ami/tls.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "tls_ca: command failed (%d): %s\n", rc, cmd);
        return -1;
    }
    return 0;
}

static void path(char *out, const tls_ca *t, const char *name)
{
    snprintf(out, TLS_CA_PATH, "%s/%s", t->dir, name);
}

/* A self-signed CA: <name>.pem and <name>.key. */
static int make_ca(const tls_ca *t, const char *name, const char *cn)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout %s.key -out %s.pem -days 2 -subj '/CN=%s' "
             "-addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1",
             t->dir, name, name, cn);
    return run(cmd);
}

/* <name>.pem/.key issued by <ca> with the given extensions. */
static int make_leaf(const tls_ca *t, const char *name, const char *ca, const char *cn,
                     const char *ext)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && printf '%%s\\n' '%s' > %s.ext && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout %s.key -out %s.csr -subj '/CN=%s' >/dev/null 2>&1 && "
             "openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -CAcreateserial "
             "-out %s.pem -days 2 -extfile %s.ext >/dev/null 2>&1",
             t->dir, ext, name, name, name, cn, name, ca, ca, name, name);
    return run(cmd);
}

int tls_ca_create(tls_ca *t)
{
    memset(t, 0, sizeof *t);
    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/ami-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t->dir)) {
        perror("tls_ca: mkdtemp");
        return -1;
    }
    const char *server_ext = "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                             "extendedKeyUsage=serverAuth";
    if (make_ca(t, "ca", "libami test CA") != 0 || make_ca(t, "other_ca", "unrelated CA") != 0 ||
        make_leaf(t, "server", "ca", "localhost", server_ext) != 0 ||
        make_leaf(t, "server_dns", "ca", "localhost",
                  "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth") != 0 ||
        make_leaf(t, "client", "ca", "ami-test-client", "extendedKeyUsage=clientAuth") != 0 ||
        make_leaf(t, "other_server", "other_ca", "localhost", server_ext) != 0) {
        tls_ca_destroy(t);
        return -1;
    }
    path(t->ca, t, "ca.pem");
    path(t->server_cert, t, "server.pem");
    path(t->server_key, t, "server.key");
    path(t->dns_cert, t, "server_dns.pem");
    path(t->dns_key, t, "server_dns.key");
    path(t->client_cert, t, "client.pem");
    path(t->client_key, t, "client.key");
    path(t->other_ca, t, "other_ca.pem");
    path(t->other_cert, t, "other_server.pem");
    path(t->other_key, t, "other_server.key");
    return 0;
}

void tls_ca_destroy(tls_ca *t)
{
    if (!t->dir[0])
        return;
    /* Only the directory mkdtemp made, and only its plain files. */
    if (strstr(t->dir, "/ami-tls-")) {
        char cmd[TLS_CA_PATH + 64];
        snprintf(cmd, sizeof cmd, "rm -f '%s'/* && rmdir '%s'", t->dir, t->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "tls_ca: could not remove %s\n", t->dir);
    }
    t->dir[0] = '\0';
}

int tls_sim_start(struct sim_process *sp, const char *cert, const char *key, const char *client_ca,
                  const char *firehose)
{
    const char *extra[12];
    size_t n = 0;
    extra[n++] = "--tls-cert";
    extra[n++] = cert;
    extra[n++] = "--tls-key";
    extra[n++] = key;
    if (client_ca) {
        extra[n++] = "--tls-ca";
        extra[n++] = client_ca;
    }
    if (firehose) {
        extra[n++] = "--firehose";
        extra[n++] = firehose;
        extra[n++] = "--write-timeout";
        extra[n++] = "0";
    }
    extra[n] = NULL;
    return sim_process_start(sp, 0, extra);
}

struct ami_tls_config *tls_test_config(const char *cafile, const char *server_name)
{
    ami_tls_config *cfg = NULL;
    if (ami_tls_config_create(&cfg) != 0)
        return NULL;
    if ((cafile && ami_tls_config_set_ca_file(cfg, cafile) != 0) ||
        (server_name && ami_tls_config_set_server_name(cfg, server_name) != 0)) {
        ami_tls_config_free(cfg);
        return NULL;
    }
    return cfg;
}
