/* amid.conf: INI (like Asterisk's own files) read with inih. Sections
 * [amid], [server NAME] and [token NAME]; every key is checked and an
 * unknown one is an error that names it, so a typo never turns into a
 * silently wider permission. Relative paths (secret_file, tokens_file,
 * static) are taken relative to the config file's directory, which is
 * what systemd's LoadCredential= directory layout needs. */
#include "amid.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX 512

typedef struct parse_ctx {
    amid_config *c;
    int tokens_only;
    char *err;
    size_t errcap;
    int failed;
    const char *file;
    char dir[PATH_MAX];
} parse_ctx;

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "amid: out of memory\n");
        exit(1);
    }
    return d;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "amid: out of memory\n");
        exit(1);
    }
    return q;
}

static int fail(parse_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parse_ctx *x, const char *fmt, ...)
{
    if (!x->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err, x->errcap, fmt, ap);
        va_end(ap);
        x->failed = 1;
    }
    return 0;
}

static void list_free(amid_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* "a, b ,c" → items; "*" alone → all. */
static int list_parse(amid_list *l, const char *value)
{
    list_free(l);
    const char *p = value;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && isspace((unsigned char)t[-1]))
            t--;
        size_t n = (size_t)(t - p);
        if (n == 1 && *p == '*')
            l->all = 1;
        else {
            l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
            l->v[l->n] = xrealloc(NULL, n + 1);
            memcpy(l->v[l->n], p, n);
            l->v[l->n][n] = '\0';
            l->n++;
        }
        p = e;
    }
    return 0;
}

int amid_list_has(const amid_list *l, const char *s)
{
    if (l->all)
        return 1;
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

int amid_list_glob(const amid_list *l, const char *s)
{
    if (l->all)
        return 1;
    for (size_t i = 0; i < l->n; i++)
        if (fnmatch(l->v[i], s, 0) == 0)
            return 1;
    return 0;
}

static int parse_size(const char *v, size_t min, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || *v == '-')
        return -1;
    if (*end == 'k' || *end == 'K')
        n *= 1024ull, end++;
    else if (*end == 'm' || *end == 'M')
        n *= 1024ull * 1024ull, end++;
    if (*end || n < min || n > max)
        return -1;
    *out = (size_t)n;
    return 0;
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return 0;
    return 1;
}

/* host:port, [v6]:port, or a bare port (127.0.0.1). */
static int parse_listen(const char *v, char **host, unsigned *port)
{
    char h[256];
    const char *ps;
    if (v[0] == '[') {
        const char *rb = strchr(v, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - v - 1) >= sizeof h)
            return -1;
        memcpy(h, v + 1, (size_t)(rb - v - 1));
        h[rb - v - 1] = '\0';
        ps = rb + 2;
    } else {
        const char *colon = strrchr(v, ':');
        if (!colon) {
            snprintf(h, sizeof h, "127.0.0.1");
            ps = v;
        } else {
            if ((size_t)(colon - v) >= sizeof h)
                return -1;
            memcpy(h, v, (size_t)(colon - v));
            h[colon - v] = '\0';
            ps = colon + 1;
        }
    }
    size_t p;
    if (parse_size(ps, 0, 65535, &p) != 0)
        return -1;
    free(*host);
    *host = xstrdup(h);
    *port = (unsigned)p;
    return 0;
}

/* "20/s", "100/m", "1000/h", or a bare number per second. */
static int parse_rate(const char *v, double *rate, double *burst)
{
    char *end;
    errno = 0;
    double n = strtod(v, &end);
    if (errno || end == v || n < 0 || n > 1e6)
        return -1;
    double per = 1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end == '/') {
        end++;
        if (*end == 's')
            per = 1;
        else if (*end == 'm')
            per = 60;
        else if (*end == 'h')
            per = 3600;
        else
            return -1;
        end++;
    }
    if (*end)
        return -1;
    *rate = n / per;
    *burst = n < 1 ? 1 : n;
    return 0;
}

static void resolve_path(parse_ctx *x, const char *v, char **out)
{
    free(*out);
    if (v[0] == '/' || !x->dir[0]) {
        *out = xstrdup(v);
        return;
    }
    size_t n = strlen(x->dir) + 1 + strlen(v) + 1;
    *out = xrealloc(NULL, n);
    snprintf(*out, n, "%s/%s", x->dir, v);
}

static amid_server_conf *find_server(amid_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_servers; i++)
        if (strcmp(c->servers[i].name, name) == 0)
            return &c->servers[i];
    return NULL;
}

static amid_token *find_token(amid_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_tokens; i++)
        if (strcmp(c->tokens[i].name, name) == 0)
            return &c->tokens[i];
    return NULL;
}

static int on_amid(parse_ctx *x, const char *k, const char *v)
{
    amid_config *c = x->c;
    size_t n;
    if (!strcmp(k, "listen")) {
        if (parse_listen(v, &c->listen_host, &c->listen_port) != 0)
            return fail(x, "[amid] listen = %s: expected HOST:PORT, [IPv6]:PORT or PORT", v);
    } else if (!strcmp(k, "static")) {
        resolve_path(x, v, &c->static_dir);
    } else if (!strcmp(k, "tls_cert")) {
        resolve_path(x, v, &c->tls_cert);
    } else if (!strcmp(k, "tls_key")) {
        resolve_path(x, v, &c->tls_key);
    } else if (!strcmp(k, "tokens_file")) {
        resolve_path(x, v, &c->tokens_file);
    } else if (!strcmp(k, "ring_events")) {
        if (parse_size(v, 1, 10000000, &c->ring_events) != 0)
            return fail(x, "[amid] ring_events = %s: a count from 1 to 10000000", v);
    } else if (!strcmp(k, "ring_bytes")) {
        if (parse_size(v, 4096, (size_t)16 << 30, &c->ring_bytes) != 0)
            return fail(x, "[amid] ring_bytes = %s: bytes (k/M suffix allowed), 4096 to 16G", v);
    } else if (!strcmp(k, "client_queue_bytes")) {
        if (parse_size(v, 4096, (size_t)1 << 30, &c->client_queue_bytes) != 0)
            return fail(x, "[amid] client_queue_bytes = %s: bytes from 4096 to 1G", v);
    } else if (!strcmp(k, "slow_client_timeout")) {
        if (parse_size(v, 1, 3600000, &n) != 0)
            return fail(x, "[amid] slow_client_timeout = %s: milliseconds, 1 to 3600000", v);
        c->slow_client_timeout_ms = (int)n;
    } else if (!strcmp(k, "drain_timeout")) {
        if (parse_size(v, 1, 3600000, &n) != 0)
            return fail(x, "[amid] drain_timeout = %s: milliseconds, 1 to 3600000", v);
        c->drain_timeout_ms = (int)n;
    } else if (!strcmp(k, "max_body_bytes")) {
        if (parse_size(v, 256, (size_t)16 << 20, &c->max_body_bytes) != 0)
            return fail(x, "[amid] max_body_bytes = %s: bytes from 256 to 16M", v);
    } else if (!strcmp(k, "session_ttl")) {
        if (parse_size(v, 1, 30 * 86400, &n) != 0)
            return fail(x, "[amid] session_ttl = %s: seconds, 1 to 2592000", v);
        c->session_ttl_s = (int)n;
    } else if (!strcmp(k, "max_clients")) {
        if (parse_size(v, 1, 1000000, &n) != 0)
            return fail(x, "[amid] max_clients = %s: a count from 1 to 1000000", v);
        c->max_clients = (int)n;
    } else if (!strcmp(k, "origins")) {
        list_parse(&c->origins, v);
        for (size_t i = 0; i < c->origins.n; i++)
            if (strncmp(c->origins.v[i], "http://", 7) && strncmp(c->origins.v[i], "https://", 8))
                return fail(x, "[amid] origins: '%s' is not an origin (https://host[:port])",
                            c->origins.v[i]);
    } else
        return fail(x, "[amid]: unknown key '%s'", k);
    return 1;
}

static int on_server(parse_ctx *x, const char *name, const char *k, const char *v)
{
    amid_config *c = x->c;
    amid_server_conf *s = find_server(c, name);
    if (!s) {
        if (!valid_name(name))
            return fail(x,
                        "[server %s]: a server name is 1-64 letters, digits, '-' or '_' "
                        "(it appears in every message, metric and subject)",
                        name);
        c->servers = xrealloc(c->servers, (c->n_servers + 1) * sizeof *c->servers);
        s = &c->servers[c->n_servers++];
        memset(s, 0, sizeof *s);
        s->name = xstrdup(name);
        s->port = 5038;
        s->action_timeout_ms = 10000;
        s->keepalive_ms = 10000;
    }
    size_t n;
    if (!strcmp(k, "host")) {
        free(s->host);
        s->host = xstrdup(v);
    } else if (!strcmp(k, "port")) {
        if (parse_size(v, 1, 65535, &n) != 0)
            return fail(x, "[server %s] port = %s: 1 to 65535", name, v);
        s->port = (unsigned)n;
    } else if (!strcmp(k, "username")) {
        free(s->username);
        s->username = xstrdup(v);
    } else if (!strcmp(k, "secret_file")) {
        resolve_path(x, v, &s->secret_file);
    } else if (!strcmp(k, "secret")) {
        return fail(x,
                    "[server %s]: 'secret' is not accepted; put the secret in a file "
                    "(chmod 600) and name it with secret_file",
                    name);
    } else if (!strcmp(k, "events")) {
        free(s->events);
        s->events = xstrdup(v);
    } else if (!strcmp(k, "action_timeout")) {
        if (parse_size(v, 1, 3600000, &n) != 0)
            return fail(x, "[server %s] action_timeout = %s: milliseconds", name, v);
        s->action_timeout_ms = (int)n;
    } else if (!strcmp(k, "keepalive")) {
        if (parse_size(v, 0, 3600000, &n) != 0)
            return fail(x, "[server %s] keepalive = %s: milliseconds (0: off)", name, v);
        s->keepalive_ms = (int)n;
    } else
        return fail(x, "[server %s]: unknown key '%s'", name, k);
    return 1;
}

static int on_token(parse_ctx *x, const char *name, const char *k, const char *v)
{
    amid_config *c = x->c;
    amid_token *t = find_token(c, name);
    if (!t) {
        if (!valid_name(name))
            return fail(x, "[token %s]: a token name is 1-64 letters, digits, '-' or '_'", name);
        c->tokens = xrealloc(c->tokens, (c->n_tokens + 1) * sizeof *c->tokens);
        t = &c->tokens[c->n_tokens++];
        memset(t, 0, sizeof *t);
        t->name = xstrdup(name);
    }
    if (!strcmp(k, "hash")) {
        if (amid_hash_parse(v, t->hash) != 0)
            return fail(x,
                        "[token %s] hash: expected sha256: and 64 hex digits "
                        "(the second line of `amid token new %s`)",
                        name, name);
        t->has_hash = 1;
    } else if (!strcmp(k, "servers"))
        list_parse(&t->servers, v);
    else if (!strcmp(k, "actions"))
        list_parse(&t->actions, v);
    else if (!strcmp(k, "events"))
        list_parse(&t->events, v);
    else if (!strcmp(k, "originate_context")) {
        list_parse(&t->contexts, v);
        t->has_contexts = 1;
    } else if (!strcmp(k, "channels")) {
        list_parse(&t->channels, v);
        t->has_channels = 1;
    } else if (!strcmp(k, "rate")) {
        if (parse_rate(v, &t->rate, &t->burst) != 0)
            return fail(x, "[token %s] rate = %s: expected N/s, N/m or N/h", name, v);
    } else if (!strcmp(k, "token"))
        return fail(x,
                    "[token %s]: the token itself never goes into the config; "
                    "use hash = sha256:... from `amid token new %s`",
                    name, name);
    else
        return fail(x, "[token %s]: unknown key '%s'", name, k);
    return 1;
}

/* "30", "90s", "15m", "12h", "7d": seconds. */
static int parse_duration(const char *v, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *v == '-' || n < 0)
        return -1;
    long long mul = 1;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'd')
        mul = 86400, end++;
    if (*end || n > max / mul)
        return -1;
    *out = (int64_t)(n * mul);
    return 0;
}

/* A NATS subject token sequence: tokens of letters, digits, '-' and '_'
 * separated by single dots (no wildcard, no space, no empty token). */
static int valid_subject_prefix(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    int tok = 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (!tok)
                return 0;
            tok = 0;
        } else if (isalnum((unsigned char)*s) || *s == '-' || *s == '_')
            tok++;
        else
            return 0;
    }
    return tok > 0;
}

/* Each comma-separated URL (spaces around commas allowed): nats:// or
 * tls://, then printable bytes with no space. */
static int valid_nats_urls(const char *v)
{
    const char *p = v;
    int n = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if (t == p || (strncmp(p, "nats://", 7) && strncmp(p, "tls://", 6)))
            return 0;
        for (const char *q = p; q < t; q++)
            if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
                return 0;
        n++;
        if (!*e)
            break;
        p = e + 1;
    }
    return n <= 16;
}

static int on_nats(parse_ctx *x, const char *k, const char *v)
{
    amid_nats_conf *n = &x->c->nats;
    size_t z;
    int64_t d;
    n->enabled = 1;
    if (!strcmp(k, "url")) {
        /* nats://user:password@host would put a secret in the config and
         * in every log line that names the URL. */
        if (strchr(v, '@'))
            return fail(x, "[nats] url: credentials in the URL are not accepted; use user and "
                           "password_file, or creds_file");
        if (strlen(v) > 1000 || !valid_nats_urls(v))
            return fail(x,
                        "[nats] url = %s: expected nats://HOST:PORT or tls://HOST:PORT, "
                        "comma-separated for a cluster (at most 16)",
                        v);
        free(n->url);
        n->url = xstrdup(v);
    } else if (!strcmp(k, "user")) {
        free(n->user);
        n->user = xstrdup(v);
    } else if (!strcmp(k, "password_file")) {
        resolve_path(x, v, &n->password_file);
    } else if (!strcmp(k, "password") || !strcmp(k, "token")) {
        return fail(x,
                    "[nats]: '%s' is not accepted; put it in a file (chmod 600) and name it "
                    "with password_file",
                    k);
    } else if (!strcmp(k, "creds_file")) {
        resolve_path(x, v, &n->creds_file);
    } else if (!strcmp(k, "stream")) {
        if (!valid_name(v))
            return fail(x, "[nats] stream = %s: 1-64 letters, digits, '-' or '_'", v);
        free(n->stream);
        n->stream = xstrdup(v);
    } else if (!strcmp(k, "subject_prefix")) {
        if (!valid_subject_prefix(v))
            return fail(x,
                        "[nats] subject_prefix = %s: subject tokens (letters, digits, '-', "
                        "'_') separated by dots, no wildcards",
                        v);
        free(n->subject_prefix);
        n->subject_prefix = xstrdup(v);
    } else if (!strcmp(k, "max_age")) {
        if (parse_duration(v, (int64_t)3650 * 86400, &d) != 0)
            return fail(x, "[nats] max_age = %s: seconds or Ns/Nm/Nh/Nd (0: unlimited)", v);
        n->max_age_s = d;
    } else if (!strcmp(k, "max_bytes")) {
        if (strcmp(v, "0") == 0)
            n->max_bytes = 0;
        else {
            char *end;
            errno = 0;
            unsigned long long b = strtoull(v, &end, 10);
            unsigned long long mul = 1;
            if (*end == 'k' || *end == 'K')
                mul = 1024ull, end++;
            else if (*end == 'm' || *end == 'M')
                mul = 1024ull * 1024, end++;
            else if (*end == 'g' || *end == 'G')
                mul = 1024ull * 1024 * 1024, end++;
            if (errno || end == v || *v == '-' || *end || b == 0 ||
                b > ((unsigned long long)1 << 50) / mul)
                return fail(x, "[nats] max_bytes = %s: bytes with k/M/G (0: unlimited)", v);
            n->max_bytes = (int64_t)(b * mul);
        }
    } else if (!strcmp(k, "replicas")) {
        if (parse_size(v, 1, 5, &z) != 0)
            return fail(x, "[nats] replicas = %s: 1 to 5", v);
        n->replicas = (int)z;
    } else if (!strcmp(k, "duplicate_window")) {
        if (parse_duration(v, 7 * 86400, &d) != 0 || d < 1)
            return fail(x, "[nats] duplicate_window = %s: seconds or Nm/Nh, at least 1s", v);
        n->duplicate_window_s = (int)d;
    } else if (!strcmp(k, "max_inflight")) {
        if (parse_size(v, 1, 1000, &z) != 0)
            return fail(x, "[nats] max_inflight = %s: 1 to 1000", v);
        n->max_inflight = (int)z;
    } else if (!strcmp(k, "ack_timeout")) {
        if (parse_size(v, 100, 600000, &z) != 0)
            return fail(x, "[nats] ack_timeout = %s: milliseconds, 100 to 600000", v);
        n->ack_timeout_ms = (int)z;
    } else if (!strcmp(k, "kv_bucket")) {
        /* A KV bucket name (the stream is KV_<name>); empty: no bucket. */
        if (*v && !valid_name(v))
            return fail(x, "[nats] kv_bucket = %s: 1-64 letters, digits, '-' or '_' (empty: none)",
                        v);
        free(n->kv_bucket);
        n->kv_bucket = *v ? xstrdup(v) : NULL;
        n->kv_bucket_given = 1;
    } else if (!strcmp(k, "kv_delete_markers")) {
        if (parse_duration(v, 7 * 86400, &d) != 0 || d < 1)
            return fail(x, "[nats] kv_delete_markers = %s: seconds or Nm/Nh/Nd, at least 1s", v);
        n->kv_delete_markers_s = (int)d;
    } else if (!strcmp(k, "kv_max_pending")) {
        if (parse_size(v, 1, 10000000, &z) != 0)
            return fail(x, "[nats] kv_max_pending = %s: 1 to 10000000 keys", v);
        n->kv_max_pending = z;
    } else
        return fail(x, "[nats]: unknown key '%s'", k);
    return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *x = user;
    if (x->failed)
        return 0;
    if (!strncmp(section, "token ", 6))
        return on_token(x, section + 6, name, value);
    if (x->tokens_only)
        return 1;
    if (!strcmp(section, "amid"))
        return on_amid(x, name, value);
    if (!strncmp(section, "server ", 7))
        return on_server(x, section + 7, name, value);
    if (!strcmp(section, "nats"))
        return on_nats(x, name, value);
    return fail(x, "unknown section [%s] (expected [amid], [server NAME], [token NAME] or [nats])",
                section);
}

int amid_file_private(const char *path, char *err, size_t errcap)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "%s is not a regular file", path);
        return -1;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        snprintf(err, errcap, "refusing %s: it is readable or writable by others (chmod o-rw %s)",
                 path, path);
        return -1;
    }
    return 0;
}

static int parse_file(parse_ctx *x, const char *path)
{
    if (amid_file_private(path, x->err, x->errcap) != 0)
        return -1;
    x->file = path;
    const char *slash = strrchr(path, '/');
    if (slash && (size_t)(slash - path) < sizeof x->dir) {
        memcpy(x->dir, path, (size_t)(slash - path));
        x->dir[slash - path] = '\0';
        if (!x->dir[0])
            strcpy(x->dir, "/");
    } else
        strcpy(x->dir, ".");
    int r = ini_parse(path, handler, x);
    if (x->failed) {
        size_t l = strlen(x->err);
        if (r > 0 && l + 32 < x->errcap)
            snprintf(x->err + l, x->errcap - l, " (%s line %d)", path, r);
        return -1;
    }
    if (r < 0) {
        snprintf(x->err, x->errcap, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (r > 0) {
        snprintf(x->err, x->errcap, "%s line %d: not INI syntax ([section] or key = value)", path,
                 r);
        return -1;
    }
    return 0;
}

static int read_secret(const char *path, char **out, char *err, size_t errcap)
{
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errcap, "cannot open secret_file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "secret_file %s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
        snprintf(err, errcap, "refusing secret_file %s: it is accessible to others (chmod 600 %s)",
                 path, path);
        close(fd);
        return -1;
    }
    char buf[SECRET_MAX + 1];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, SECRET_MAX + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len > SECRET_MAX)
            break;
    }
    close(fd);
    if (len > SECRET_MAX) {
        snprintf(err, errcap, "secret_file %s is too long (at most %d bytes)", path, SECRET_MAX);
        return -1;
    }
    if (len && buf[len - 1] == '\n')
        len--;
    if (len && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (!len || memchr(buf, '\n', len) || memchr(buf, '\r', len) || strlen(buf) != len) {
        snprintf(err, errcap, "secret_file %s must hold one line (the secret)", path);
        return -1;
    }
    *out = xstrdup(buf);
    memset(buf, 0, sizeof buf);
    return 0;
}

static int check_tokens(amid_config *c, char *err, size_t errcap)
{
    for (size_t i = 0; i < c->n_tokens; i++) {
        amid_token *t = &c->tokens[i];
        if (!t->has_hash) {
            snprintf(err, errcap, "[token %s]: no hash (run `amid token new %s`)", t->name,
                     t->name);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (!memcmp(c->tokens[j].hash, t->hash, 32)) {
                snprintf(err, errcap, "[token %s] and [token %s] have the same hash", t->name,
                         c->tokens[j].name);
                return -1;
            }
    }
    return 0;
}

static void defaults(amid_config *c)
{
    memset(c, 0, sizeof *c);
    c->listen_host = xstrdup("127.0.0.1");
    c->listen_port = 8088;
    c->ring_events = 100000;
    c->ring_bytes = (size_t)256 << 20;
    c->client_queue_bytes = 4194304;
    c->slow_client_timeout_ms = 30000;
    c->drain_timeout_ms = 5000;
    c->max_body_bytes = 65536;
    c->session_ttl_s = 43200;
    c->max_clients = 1000;
    c->nats.replicas = 1;
    c->nats.duplicate_window_s = 120;
    c->nats.max_inflight = 256;
    c->nats.ack_timeout_ms = 5000;
    c->nats.kv_max_pending = 100000;
    c->nats.kv_delete_markers_s = 1800;
}

static int check_nats(amid_config *c, int check_secrets, char *err, size_t errcap)
{
    amid_nats_conf *n = &c->nats;
    if (!n->enabled)
        return 0;
#ifndef AMID_WITH_NATS
    snprintf(err, errcap,
             "[nats]: this amid was built without NATS support (install libnats-dev and "
             "rebuild)");
    return -1;
#endif
    if (!n->url) {
        snprintf(err, errcap, "[nats]: url is required (nats://HOST:PORT)");
        return -1;
    }
    if (!n->stream)
        n->stream = xstrdup("AMI");
    if (!n->subject_prefix)
        n->subject_prefix = xstrdup("ami");
    if (!n->kv_bucket_given)
        n->kv_bucket = xstrdup("ami_state");
    if (n->password_file && !n->user) {
        snprintf(err, errcap, "[nats]: password_file needs user");
        return -1;
    }
    if (n->user && !n->password_file) {
        snprintf(err, errcap, "[nats]: user needs password_file");
        return -1;
    }
    if (n->creds_file && n->user) {
        snprintf(err, errcap, "[nats]: use either user/password_file or creds_file, not both");
        return -1;
    }
    if (n->creds_file && amid_file_private(n->creds_file, err, errcap) != 0)
        return -1;
    if (check_secrets && n->password_file &&
        read_secret(n->password_file, &n->password, err, errcap) != 0)
        return -1;
    return 0;
}

int amid_config_load(amid_config *c, const char *path, int check_secrets, char *err, size_t errcap)
{
    defaults(c);
    c->path = xstrdup(path);
    parse_ctx x = {.c = c, .err = err, .errcap = errcap};
    if (parse_file(&x, path) != 0)
        return -1;
    if (c->tokens_file) {
        parse_ctx y = {.c = c, .tokens_only = 1, .err = err, .errcap = errcap};
        char *tf = xstrdup(c->tokens_file);
        int r = parse_file(&y, tf);
        free(tf);
        if (r != 0)
            return -1;
    }
    if (c->n_servers == 0) {
        snprintf(err, errcap, "%s: no [server NAME] section: amid needs at least one PBX", path);
        return -1;
    }
    for (size_t i = 0; i < c->n_servers; i++) {
        amid_server_conf *s = &c->servers[i];
        if (!s->host || !s->username || !s->secret_file) {
            snprintf(err, errcap, "[server %s]: host, username and secret_file are required",
                     s->name);
            return -1;
        }
        if (check_secrets && read_secret(s->secret_file, &s->secret, err, errcap) != 0)
            return -1;
    }
    if (!!c->tls_cert != !!c->tls_key) {
        snprintf(err, errcap, "[amid]: tls_cert and tls_key go together");
        return -1;
    }
    if (c->tls_key && amid_file_private(c->tls_key, err, errcap) != 0)
        return -1;
    if (c->static_dir) {
        struct stat st;
        if (stat(c->static_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errcap, "[amid] static = %s: not a directory", c->static_dir);
            return -1;
        }
    }
    if (check_nats(c, check_secrets, err, errcap) != 0)
        return -1;
    return check_tokens(c, err, errcap);
}

int amid_config_load_tokens(const char *path, amid_token **out, size_t *n, char *err, size_t errcap)
{
    amid_config tmp;
    memset(&tmp, 0, sizeof tmp);
    parse_ctx x = {.c = &tmp, .tokens_only = 1, .err = err, .errcap = errcap};
    /* The [amid] tokens_file key must be honoured too: read it with a
     * throw-away full parse that skips the secrets. */
    amid_config full;
    int r = amid_config_load(&full, path, 0, err, errcap);
    char *tf = (r == 0 && full.tokens_file) ? xstrdup(full.tokens_file) : NULL;
    amid_config_free(&full);
    if (r != 0)
        return -1;
    r = parse_file(&x, path);
    if (r == 0 && tf) {
        parse_ctx y = {.c = &tmp, .tokens_only = 1, .err = err, .errcap = errcap};
        r = parse_file(&y, tf);
    }
    free(tf);
    if (r == 0)
        r = check_tokens(&tmp, err, errcap);
    if (r != 0) {
        amid_tokens_free(tmp.tokens, tmp.n_tokens);
        return -1;
    }
    *out = tmp.tokens;
    *n = tmp.n_tokens;
    return 0;
}

void amid_tokens_free(amid_token *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].name);
        list_free(&t[i].servers);
        list_free(&t[i].actions);
        list_free(&t[i].events);
        list_free(&t[i].contexts);
        list_free(&t[i].channels);
    }
    free(t);
}

void amid_config_free(amid_config *c)
{
    free(c->path);
    free(c->listen_host);
    free(c->static_dir);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->tokens_file);
    list_free(&c->origins);
    free(c->nats.url);
    free(c->nats.user);
    free(c->nats.password_file);
    if (c->nats.password) {
        memset(c->nats.password, 0, strlen(c->nats.password));
        free(c->nats.password);
    }
    free(c->nats.creds_file);
    free(c->nats.stream);
    free(c->nats.subject_prefix);
    free(c->nats.kv_bucket);
    for (size_t i = 0; i < c->n_servers; i++) {
        amid_server_conf *s = &c->servers[i];
        free(s->name);
        free(s->host);
        free(s->username);
        free(s->secret_file);
        if (s->secret) {
            memset(s->secret, 0, strlen(s->secret));
            free(s->secret);
        }
        free(s->events);
    }
    free(c->servers);
    amid_tokens_free(c->tokens, c->n_tokens);
    memset(c, 0, sizeof *c);
}
