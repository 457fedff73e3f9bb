/*
 * The TLS transport (OpenSSL): TCP connect from net.c, then a handshake
 * that verifies the certificate chain and the host name unless the
 * application explicitly turned verification off. Records go through a
 * small BIO of our own so every write uses MSG_NOSIGNAL: a server that
 * vanished must give an error, never SIGPIPE.
 */
#include "internal.h"
#include "sock.h"
#include "tls.h"

#ifdef AMI_HAVE_OPENSSL

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

typedef struct tls_state {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO_METHOD *meth; /* per connection: no global state, no init call */
    int established;
    int verify;
    char where[256];
} tls_state;

/* ------------------------------------------------------------ socket BIO */

static int bio_write(BIO *b, const char *buf, int len)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        return -1;
    }
}

static int bio_read(BIO *b, char *buf, int len)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = recv(fd, buf, (size_t)len, 0);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(b);
        return -1;
    }
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    AMI__UNUSED(b);
    AMI__UNUSED(num);
    AMI__UNUSED(ptr);
    /* Writes are unbuffered: a flush has nothing to do. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO *socket_bio(tls_state *t, int fd)
{
    t->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ami socket");
    if (!t->meth || !BIO_meth_set_write(t->meth, bio_write) ||
        !BIO_meth_set_read(t->meth, bio_read) || !BIO_meth_set_ctrl(t->meth, bio_ctrl) ||
        !BIO_meth_set_create(t->meth, bio_create))
        return NULL;
    BIO *b = BIO_new(t->meth);
    if (b)
        BIO_set_data(b, (void *)(intptr_t)fd);
    return b;
}

/* ------------------------------------------------------------- messages */

/* The most specific reason OpenSSL queued, or `fallback`. */
static const char *ssl_reason(char *buf, size_t len, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    if (!e)
        return fallback;
    const char *r = ERR_reason_error_string(e);
    if (r)
        snprintf(buf, len, "%s", r);
    else
        ERR_error_string_n(e, buf, len);
    return buf;
}

static void free_state(tls_state *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    if (t->meth)
        BIO_meth_free(t->meth);
    ami__free(t);
}

/* ---------------------------------------------------------------- setup */

static int is_ip_literal(const char *name)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1;
}

static int load_trust(SSL_CTX *ctx, const ami_tls_config *cfg, char *err, size_t err_len)
{
    char why[200];
    if (cfg->ca_file || cfg->ca_dir) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, cfg->ca_dir) != 1) {
            snprintf(err, err_len, "cannot load the TLS trust anchors from %s%s%s: %s",
                     cfg->ca_file ? cfg->ca_file : "", cfg->ca_file && cfg->ca_dir ? " and " : "",
                     cfg->ca_dir ? cfg->ca_dir : "", ssl_reason(why, sizeof why, "unreadable"));
            return AMI_ERR_TLS;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, err_len, "cannot load the system's TLS trust store: %s",
                 ssl_reason(why, sizeof why, "unknown error"));
        return AMI_ERR_TLS;
    }
    return 0;
}

static int load_client_cert(SSL_CTX *ctx, const ami_tls_config *cfg, char *err, size_t err_len)
{
    char why[200];
    if (!cfg->cert_file)
        return 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        snprintf(err, err_len, "cannot load the client certificate %s: %s", cfg->cert_file,
                 ssl_reason(why, sizeof why, "unreadable"));
        return AMI_ERR_TLS;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, err_len, "cannot use the private key %s with %s: %s", cfg->key_file,
                 cfg->cert_file, ssl_reason(why, sizeof why, "unreadable"));
        return AMI_ERR_TLS;
    }
    return 0;
}

/* The name to check: the configured server name, else the host asked for
 * (brackets of an IPv6 literal removed). */
static int check_name(const ami_tls_config *cfg, const char *host, char *buf, size_t len)
{
    const char *name = cfg->server_name ? cfg->server_name : host;
    size_t n = strlen(name);
    if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
        name++;
        n -= 2;
    }
    if (n == 0 || n >= len)
        return -1;
    memcpy(buf, name, n);
    buf[n] = '\0';
    return 0;
}

static int setup(ami__conn *c, const char *host, unsigned port, char *err, size_t err_len)
{
    const ami_tls_config *cfg = c->tp_cfg;
    char why[200];
    tls_state *t = ami__calloc(1, sizeof *t);
    if (!t)
        return AMI_ERR_NOMEM;
    ami__format_hostport(t->where, sizeof t->where, host, port);
    t->verify = cfg->verify;
    ERR_clear_error();
    int rc = AMI_ERR_TLS;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx || SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1) {
        snprintf(err, err_len, "cannot set up TLS: %s", ssl_reason(why, sizeof why, "no memory"));
        goto fail;
    }
    /* A server that closes without close_notify (killed, restarted) is an
     * end of stream like on TCP; AMI's framing finds truncated packets. */
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF /* OpenSSL 3; 1.1 reports it as EOF already */
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    /* The session's output buffer may move and grow between retries. */
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(t->ctx, cfg->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (cfg->verify && (rc = load_trust(t->ctx, cfg, err, err_len)) != 0)
        goto fail;
    if ((rc = load_client_cert(t->ctx, cfg, err, err_len)) != 0)
        goto fail;
    rc = AMI_ERR_TLS;
    t->ssl = SSL_new(t->ctx);
    BIO *bio = t->ssl ? socket_bio(t, c->fd) : NULL;
    if (!bio) {
        snprintf(err, err_len, "cannot set up TLS: %s", ssl_reason(why, sizeof why, "no memory"));
        goto fail;
    }
    SSL_set_bio(t->ssl, bio, bio);

    char name[256];
    if (check_name(cfg, host, name, sizeof name) != 0) {
        snprintf(err, err_len, "invalid TLS server name");
        rc = AMI_ERR_INVALID;
        goto fail;
    }
    int ip = is_ip_literal(name);
    /* RFC 6066: no SNI for address literals. */
    if (!ip && SSL_set_tlsext_host_name(t->ssl, name) != 1) {
        snprintf(err, err_len, "cannot send the TLS server name '%s'", name);
        goto fail;
    }
    if (cfg->verify) {
        X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
                    : X509_VERIFY_PARAM_set1_host(param, name, 0);
        if (ok != 1) {
            snprintf(err, err_len, "cannot check the TLS certificate against '%s'", name);
            goto fail;
        }
    }
    SSL_set_connect_state(t->ssl);
    c->tp_data = t;
    return 0;
fail:
    free_state(t);
    return rc;
}

/* --------------------------------------------------------- handshake */

static int handshake_failed(ami__conn *c, tls_state *t, int ssl_err, char *err, size_t err_len)
{
    char why[200];
    long vr = SSL_get_verify_result(t->ssl);
    if (t->verify && vr != X509_V_OK) {
        /* What to do about it depends on the program (a CA option, a
         * server name option): the message says what failed, callers add
         * advice in their own terms. */
        snprintf(err, err_len, "TLS certificate of %s did not verify: %s", t->where,
                 X509_verify_cert_error_string(vr));
        return AMI_ERR_TLS_VERIFY;
    }
    if (ssl_err == SSL_ERROR_SYSCALL && errno != 0 && !ERR_peek_last_error()) {
        c->sys_errno = errno;
        snprintf(err, err_len, "TLS handshake with %s failed: %s", t->where, strerror(errno));
    } else if (ssl_err == SSL_ERROR_ZERO_RETURN ||
               (ssl_err == SSL_ERROR_SYSCALL && !ERR_peek_last_error())) {
        snprintf(err, err_len, "%s closed the connection during the TLS handshake", t->where);
    } else {
        const char *r = ssl_reason(why, sizeof why, "unknown error");
        snprintf(err, err_len, "TLS handshake with %s failed: %s%s", t->where, r,
                 strstr(r, "wrong version") || strstr(r, "packet length")
                     ? " (is it a TLS port? Asterisk serves AMI over TLS on 5039, plain on 5038)"
                     : "");
    }
    return AMI_ERR_TLS;
}

static int tls_handshake(ami__conn *c, const char *host, unsigned port, unsigned *want, char *err,
                         size_t err_len)
{
    *want = 0;
    if (!c->tp_data) {
        c->tp_err[0] = '\0';
        int rc = setup(c, host, port, err, err_len);
        if (rc != 0)
            return rc;
    }
    tls_state *t = c->tp_data;
    if (t->established)
        return 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->established = 1;
        return 0;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want = e == SSL_ERROR_WANT_READ ? AMI__WANT_READ : AMI__WANT_WRITE;
        return (int)AMI__NET_AGAIN;
    }
    int rc = handshake_failed(c, t, e, err, err_len);
    snprintf(c->tp_err, sizeof c->tp_err, "%s", err);
    return rc;
}

/* -------------------------------------------------- the transport table */

static void tls_close(ami__conn *c);

static int tls_connect(ami__conn *c, const char *host, unsigned port, int timeout_ms, char *err,
                       size_t err_len)
{
    uint64_t deadline = timeout_ms < 0 ? 0 : ami__monotonic_ms() + (uint64_t)timeout_ms;
    int rc = ami__tcp_transport.connect(c, host, port, timeout_ms, err, err_len);
    if (rc != 0)
        return rc;
    for (;;) {
        unsigned want = 0;
        rc = tls_handshake(c, host, port, &want, err, err_len);
        if (rc != (int)AMI__NET_AGAIN)
            break;
        int wait = -1;
        if (timeout_ms >= 0) {
            uint64_t now = ami__monotonic_ms();
            if (now >= deadline) {
                char where[300];
                ami__format_hostport(where, sizeof where, host, port);
                snprintf(err, err_len, "TLS handshake with %s timed out after %d ms", where,
                         timeout_ms);
                rc = AMI_ERR_TIMEOUT;
                break;
            }
            wait = deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
        }
        struct pollfd pfd = {.fd = c->fd, .events = want == AMI__WANT_READ ? POLLIN : POLLOUT};
        if (poll(&pfd, 1, wait) < 0 && errno != EINTR) {
            c->sys_errno = errno;
            snprintf(err, err_len, "waiting for the TLS handshake failed: %s", strerror(errno));
            rc = AMI_ERR_IO;
            break;
        }
    }
    if (rc != 0)
        tls_close(c);
    return rc;
}

static long io_failed(ami__conn *c, int ssl_err, const char *what)
{
    tls_state *t = c->tp_data;
    if (ssl_err == SSL_ERROR_SYSCALL && errno != 0 && !ERR_peek_last_error()) {
        c->sys_errno = errno;
        c->tp_err[0] = '\0';
        return AMI_ERR_IO;
    }
    char why[200];
    const char *r = ssl_reason(why, sizeof why, "TLS record layer error");
    const char *hint = strstr(r, "certificate required") || strstr(r, "handshake failure")
                           ? " (does the server require a client certificate?)"
                           : "";
    /* A message cut at the buffer's end is acceptable; say so to gcc by
     * looking at the result. */
    if (snprintf(c->tp_err, sizeof c->tp_err, "TLS %s %s failed: %s%s", what, t->where, r, hint) <
        0)
        c->tp_err[0] = '\0';
    c->sys_errno = EPROTO;
    return AMI_ERR_TLS;
}

static long tls_read(ami__conn *c, char *buf, size_t len)
{
    tls_state *t = c->tp_data;
    size_t got = 0;
    /* Read until OpenSSL has nothing decoded left, or the buffer is full:
     * a short read then means nothing hides from poll() inside OpenSSL. */
    while (got < len) {
        size_t chunk = len - got > INT_MAX ? INT_MAX : len - got;
        ERR_clear_error();
        errno = 0;
        int r = SSL_read(t->ssl, buf + got, (int)chunk);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (got > 0)
            return (long)got; /* errors are sticky: the next read reports them */
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return AMI__NET_AGAIN;
        if (e == SSL_ERROR_ZERO_RETURN)
            return 0;
        if (e == SSL_ERROR_SYSCALL && errno == 0 && !ERR_peek_last_error())
            return 0;
        return io_failed(c, e, "read from");
    }
    return (long)got;
}

static long tls_write(ami__conn *c, const char *buf, size_t len)
{
    tls_state *t = c->tp_data;
    ERR_clear_error();
    errno = 0;
    int r = SSL_write(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (r > 0)
        return r;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return AMI__NET_AGAIN;
    return io_failed(c, e, "write to");
}

static size_t tls_pending(const ami__conn *c)
{
    const tls_state *t = c->tp_data;
    return t && t->ssl ? (size_t)SSL_pending(t->ssl) : 0;
}

static void tls_close(ami__conn *c)
{
    tls_state *t = c->tp_data;
    if (t && t->established) {
        /* Best effort close_notify; never wait for the peer's. */
        ERR_clear_error();
        (void)SSL_shutdown(t->ssl);
    }
    ERR_clear_error();
    free_state(t);
    c->tp_data = NULL;
    ami__tcp_transport.close(c);
}

const ami__transport ami__tls_transport = {
    .name = "tls",
    .connect = tls_connect,
    .read = tls_read,
    .write = tls_write,
    .close = tls_close,
    .handshake = tls_handshake,
    .pending = tls_pending,
};

#endif /* AMI_HAVE_OPENSSL */
