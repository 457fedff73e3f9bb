/* amid: one AMI connection per PBX, shared over REST and WebSocket.
 *
 *   amid [-c FILE]             run (default /etc/amid/amid.conf)
 *   amid [-c FILE] --check-config
 *   amid token new NAME        print a new token and its hash line
 *
 * One libuv loop carries everything: libami's async clients (through the
 * libuv adapter), lws's HTTP/WebSocket server (on the same, foreign loop)
 * and amid's own timers and signals. SIGHUP reloads the tokens, SIGTERM
 * and SIGINT drain (drain.c): new requests get 503, each PBX is logged off
 * and read to its end, pending actions get their answer, JetStream
 * acknowledges what the rings hold (for at most [amid] drain_timeout),
 * clients are closed with a reason. */
#include "app.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

amid_app *amid;

uint64_t amid_now_ms(void)
{
    return ami_async_now();
}

static void usage(FILE *f)
{
    fprintf(f, "usage: amid [-c FILE] [--check-config]\n"
               "       amid token new NAME\n"
               "       amid --version | --help\n"
               "Serves the AMI of each [server] in FILE (default " AMID_DEFAULT_CONFIG
               ") over REST and WebSocket; see amid(8).\n");
}

static void shutdown_now(void);

static void on_tick(uv_timer_t *t)
{
    (void)t;
    uint64_t now = amid_now_ms();
    amid_ws_check_slow(now);
    if (amid->draining && amid_drain_done(now))
        shutdown_now();
}

static void reload_tokens(void)
{
    char err[512];
    amid_token *t;
    size_t n;
    if (amid_config_load_tokens(amid->cfg.path, &t, &n, err, sizeof err) != 0) {
        amid->reload_failures++;
        amid_error("reload failed, keeping the old tokens", "error=\"%s\"", err);
        return;
    }
    amid_token *old = amid->cfg.tokens;
    size_t oldn = amid->cfg.n_tokens;
    amid->cfg.tokens = t;
    amid->cfg.n_tokens = n;
    amid_ws_reresolve_tokens();
    amid_tokens_free(old, oldn);
    amid->reloads++;
    amid_info("tokens reloaded", "tokens=%zu", n);
}

static void on_signal(uv_signal_t *s, int sig)
{
    (void)s;
    if (sig == SIGHUP) {
        reload_tokens();
        return;
    }
    if (amid->draining)
        return;
    amid_drain_start(sig);
    on_tick(&amid->tick);
}

static int shut;

static void shutdown_now(void)
{
    if (shut)
        return;
    shut = 1;
    uv_timer_stop(&amid->tick);
    uv_close((uv_handle_t *)&amid->tick, NULL);
    uv_signal_stop(&amid->sig_hup);
    uv_signal_stop(&amid->sig_term);
    uv_signal_stop(&amid->sig_int);
    uv_close((uv_handle_t *)&amid->sig_hup, NULL);
    uv_close((uv_handle_t *)&amid->sig_term, NULL);
    uv_close((uv_handle_t *)&amid->sig_int, NULL);
    /* Upstreams first: their pending actions fail (CANCELLED) while the
     * HTTP side can still take the answers. */
    for (size_t i = 0; i < amid->n_servers; i++)
        amid_upstream_stop(&amid->servers[i]);
    amid_nats_stop();
    /* On a foreign loop lws closes its handles asynchronously; the loop
     * runs until they are gone. */
    amid_http_stop();
}

static int check_config(const char *path)
{
    amid_config c;
    char err[1024];
    if (amid_config_load(&c, path, 1, err, sizeof err) != 0) {
        fprintf(stderr, "amid: %s\n", err);
        amid_config_free(&c);
        return 1;
    }
    printf("%s: OK\n", path);
    printf("  listen %s:%u (%s)%s%s\n", c.listen_host, c.listen_port, c.tls_cert ? "https" : "http",
           c.static_dir ? ", static files from " : "", c.static_dir ? c.static_dir : "");
    printf("  ring: %zu events or %zu bytes per server; client queue %zu bytes, closed after %d "
           "ms behind\n",
           c.ring_events, c.ring_bytes, c.client_queue_bytes, c.slow_client_timeout_ms);
    printf("  drain: at most %d ms on SIGTERM/SIGINT (Logoff each PBX, read it to its close, "
           "publish and await acknowledgements)\n",
           c.drain_timeout_ms);
    for (size_t i = 0; i < c.n_servers; i++)
        printf("  server %s: %s@%s:%u (secret from %s)\n", c.servers[i].name, c.servers[i].username,
               c.servers[i].host, c.servers[i].port, c.servers[i].secret_file);
    if (c.nats.enabled) {
        printf("  nats %s%s: stream %s, subjects %s.*.events.> and %s.*.gap, max_age %llds, "
               "max_bytes %lld, replicas %d, duplicate window %ds, %d in flight per server, "
               "ack timeout %d ms\n",
               c.nats.url,
               c.nats.creds_file ? " (creds file)"
               : c.nats.user     ? " (user)"
                                 : "",
               c.nats.stream, c.nats.subject_prefix, c.nats.subject_prefix,
               (long long)c.nats.max_age_s, (long long)c.nats.max_bytes, c.nats.replicas,
               c.nats.duplicate_window_s, c.nats.max_inflight, c.nats.ack_timeout_ms);
        if (c.nats.kv_bucket)
            printf("  nats kv bucket %s: the state, keys <server>.<kind>.<id>, history 1, "
                   "replicas %d; at most %zu keys waiting per server; delete markers purged "
                   "after %ds\n",
                   c.nats.kv_bucket, c.nats.replicas, c.nats.kv_max_pending,
                   c.nats.kv_delete_markers_s);
        else
            printf("  nats kv bucket: none (kv_bucket is empty)\n");
        if (c.nats.max_age_s && c.nats.max_age_s < c.nats.duplicate_window_s)
            printf("    note: max_age is shorter than the duplicate window\n");
    }
    for (size_t i = 0; i < c.n_tokens; i++) {
        amid_token *t = &c.tokens[i];
        printf("  token %s: servers %s%zu, actions %s%zu, events %s%zu%s%s%s\n", t->name,
               t->servers.all ? "* + " : "", t->servers.n, t->actions.all ? "* + " : "",
               t->actions.n, t->events.all ? "* + " : "", t->events.n,
               t->has_contexts ? ", originate_context limited" : "",
               t->has_channels ? ", channels limited" : "", t->rate > 0 ? ", rate limited" : "");
        if (!t->servers.all && !t->servers.n)
            printf("    note: no servers: this token can do nothing\n");
        for (size_t k = 0; k < t->servers.n; k++) {
            int found = 0;
            for (size_t j = 0; j < c.n_servers; j++)
                found |= !strcmp(c.servers[j].name, t->servers.v[k]);
            if (!found)
                printf("    note: server '%s' is not configured\n", t->servers.v[k]);
        }
        for (size_t k = 0; k < t->events.n; k++)
            if (!amid_classes_of(t->events.v[k]))
                printf("    note: '%s' is not an AMI event class\n", t->events.v[k]);
    }
    amid_config_free(&c);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = AMID_DEFAULT_CONFIG;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--check-config"))
            check = 1;
        else if (!strcmp(argv[i], "--version")) {
            printf("amid %s (libami %s)\n", AMID_VERSION, ami_version());
            return 0;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "token") && i + 2 < argc && !strcmp(argv[i + 1], "new") &&
                   i + 3 == argc)
            return amid_cmd_token_new(argv[i + 2]);
        else {
            fprintf(stderr, "amid: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (check)
        return check_config(path);

    signal(SIGPIPE, SIG_IGN);
    static amid_app app;
    amid = &app;
    char err[1024];
    if (amid_config_load(&app.cfg, path, 1, err, sizeof err) != 0) {
        amid_error("bad configuration", "error=\"%s\"", err);
        amid_config_free(&app.cfg);
        return 1;
    }
    /* The epoch names this run: sequence numbers restart with it. */
    char rnd[9];
    if (amid_random_hex(rnd, 4) != 0)
        snprintf(rnd, sizeof rnd, "00000000");
    snprintf(app.epoch, sizeof app.epoch, "%llx-%s", (unsigned long long)time(NULL), rnd);

    static uv_loop_t loop;
    uv_loop_init(&loop);
    app.loop = &loop;
    app.n_servers = app.cfg.n_servers;
    app.servers = calloc(app.n_servers, sizeof *app.servers);
    int rc = 0;
    if (!app.servers) {
        amid_error("out of memory", "%s", "");
        return 1;
    }
    for (size_t i = 0; i < app.n_servers; i++) {
        app.servers[i].conf = &app.cfg.servers[i];
        app.servers[i].index = i;
        if (amid_hub_init(&app.servers[i], app.cfg.ring_events) != 0) {
            amid_error("out of memory for the ring", "server=%s", app.cfg.servers[i].name);
            return 1;
        }
    }
    if (amid_http_start() != 0) {
        amid_error("cannot listen", "listen=%s:%u", app.cfg.listen_host, app.cfg.listen_port);
        rc = 1;
    } else {
        if (amid_nats_start() != 0) {
            amid_error("cannot set up NATS", "url=%s", app.cfg.nats.url);
            rc = 1;
        }
        for (size_t i = 0; i < app.n_servers && rc == 0; i++)
            if (amid_upstream_start(&app.servers[i]) != 0) {
                amid_error("cannot start the AMI client", "server=%s", app.cfg.servers[i].name);
                rc = 1;
            }
    }
    uv_timer_init(&loop, &app.tick);
    uv_signal_init(&loop, &app.sig_hup);
    uv_signal_init(&loop, &app.sig_term);
    uv_signal_init(&loop, &app.sig_int);
    if (rc == 0) {
        uv_timer_start(&app.tick, on_tick, 200, 200);
        uv_signal_start(&app.sig_hup, on_signal, SIGHUP);
        uv_signal_start(&app.sig_term, on_signal, SIGTERM);
        uv_signal_start(&app.sig_int, on_signal, SIGINT);
        amid_info("started", "listen=%s:%d epoch=%s servers=%zu tokens=%zu", app.cfg.listen_host,
                  app.listen_port, app.epoch, app.n_servers, app.cfg.n_tokens);
        printf("listening on %s:%d\n", app.cfg.listen_host, app.listen_port);
        fflush(stdout);
    } else
        shutdown_now();
    uv_run(&loop, UV_RUN_DEFAULT);
    if (!shut)
        shutdown_now();
    uv_run(&loop, UV_RUN_DEFAULT);
    int lc = uv_loop_close(&loop);
    if (lc != 0)
        amid_warn("loop not closed cleanly", "error=%s", uv_strerror(lc));
    amid_nats_free();
    for (size_t i = 0; i < app.n_servers; i++)
        amid_hub_free(&app.servers[i]);
    free(app.servers);
    while (app.sessions) {
        amid_session *s = app.sessions;
        app.sessions = s->next;
        free(s);
    }
    amid_config_free(&app.cfg);
    amid_info("stopped", "%s", "");
    return rc;
}
