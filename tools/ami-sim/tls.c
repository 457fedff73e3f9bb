/*
 * AMI over TLS for ami-sim (--tls-cert/--tls-key, optionally --tls-ca to
 * require client certificates), like Asterisk's manager.conf tlsenable.
 * Every connection's bytes go through sim_io_recv/sim_io_send, which are
 * plain recv/send when TLS is off.
 */
#include "sim.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifdef AMI_SIM_HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/ssl.h>

static void report(const char *what, const char *file)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    fprintf(stderr, "ami-sim: %s %s: %s\n", what, file, buf);
}

int sim_tls_init(sim *s)
{
    const sim_options *o = &s->opt;
    if (!o->tls_cert && !o->tls_key && !o->tls_ca)
        return 0;
    if (!o->tls_cert || !o->tls_key) {
        fputs("ami-sim: --tls-cert and --tls-key go together\n", stderr);
        return -1;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        fputs("ami-sim: cannot create a TLS context\n", stderr);
        SSL_CTX_free(ctx);
        return -1;
    }
    /* Output is a buffer that moves and grows between retried writes. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1) {
        report("cannot load certificate", o->tls_cert);
        SSL_CTX_free(ctx);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        report("cannot use key", o->tls_key);
        SSL_CTX_free(ctx);
        return -1;
    }
    if (o->tls_ca) {
        if (SSL_CTX_load_verify_locations(ctx, o->tls_ca, NULL) != 1) {
            report("cannot load CA", o->tls_ca);
            SSL_CTX_free(ctx);
            return -1;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    s->tls_ctx = ctx;
    return 0;
}

void sim_tls_free(sim *s)
{
    SSL_CTX_free(s->tls_ctx);
    s->tls_ctx = NULL;
}

int sim_tls_conn_start(sim_conn *c)
{
    if (!c->sim->tls_ctx)
        return 0;
    SSL *ssl = SSL_new(c->sim->tls_ctx);
    if (!ssl || SSL_set_fd(ssl, c->fd) != 1) {
        SSL_free(ssl);
        return -1;
    }
    SSL_set_accept_state(ssl);
    c->tls = ssl;
    return 0;
}

void sim_tls_conn_free(sim_conn *c)
{
    SSL *ssl = c->tls;
    if (!ssl)
        return;
    if (SSL_is_init_finished(ssl))
        (void)SSL_shutdown(ssl); /* best effort close_notify; SIGPIPE is ignored */
    SSL_free(ssl);
    ERR_clear_error();
    c->tls = NULL;
}

static ssize_t tls_failed(sim_conn *c, int r, int writing)
{
    int e = SSL_get_error(c->tls, r);
    if (e == SSL_ERROR_WANT_READ) {
        /* Only a write that waits for input must stop asking for POLLOUT
         * (it would spin); a read that waits is the idle state. */
        if (writing)
            c->io_wait_read = 1;
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    if (c->sim->opt.verbose) {
        char buf[256];
        ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
        fprintf(stderr, "ami-sim: conn %u: TLS: %s\n", c->id, buf);
    }
    ERR_clear_error();
    errno = EPROTO;
    return -1;
}

ssize_t sim_io_recv(sim_conn *c, char *buf, size_t len)
{
    if (!c->tls)
        return recv(c->fd, buf, len, 0);
    c->io_wait_read = 0;
    ERR_clear_error();
    int r = SSL_read(c->tls, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (r > 0)
        return r;
    return tls_failed(c, r, 0);
}

ssize_t sim_io_send(sim_conn *c, const char *buf, size_t len)
{
    if (!c->tls)
        return send(c->fd, buf, len, MSG_NOSIGNAL);
    c->io_wait_read = 0;
    ERR_clear_error();
    int r = SSL_write(c->tls, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (r > 0)
        return r;
    ssize_t n = tls_failed(c, r, 1);
    if (n == 0) {
        errno = EPIPE;
        return -1;
    }
    return n;
}

size_t sim_io_pending(const sim_conn *c)
{
    return c->tls ? (size_t)SSL_pending(c->tls) : 0;
}

#else /* built without OpenSSL */

int sim_tls_init(sim *s)
{
    if (!s->opt.tls_cert && !s->opt.tls_key && !s->opt.tls_ca)
        return 0;
    fputs("ami-sim: TLS needs a build with OpenSSL (AMI_WITH_OPENSSL)\n", stderr);
    return -1;
}

void sim_tls_free(sim *s)
{
    (void)s;
}

int sim_tls_conn_start(sim_conn *c)
{
    (void)c;
    return 0;
}

void sim_tls_conn_free(sim_conn *c)
{
    (void)c;
}

ssize_t sim_io_recv(sim_conn *c, char *buf, size_t len)
{
    return recv(c->fd, buf, len, 0);
}

ssize_t sim_io_send(sim_conn *c, const char *buf, size_t len)
{
    return send(c->fd, buf, len, MSG_NOSIGNAL);
}

size_t sim_io_pending(const sim_conn *c)
{
    (void)c;
    return 0;
}

#endif
