/* GET /metrics: Prometheus text exposition, built on request. Labels are
 * server names (validated in the config) and numbers: nothing secret. */
#include "app.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mbuf {
    char *p;
    size_t len, cap;
    int oom;
} mbuf;

static void put(mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(mbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/* One server's values of a metric family list, in the order of its
 * names; 0, or -1 when that server has none. */
typedef int (*server_values_fn)(size_t server, uint64_t *out);

static int nats_values(size_t i, uint64_t *v)
{
    amid_nats_stats ns;
    if (amid_nats_stats_get(i, &ns) != 0)
        return -1;
    uint64_t a[] = {ns.published, ns.acked_seq, ns.inflight, ns.errors,
                    ns.resets,    ns.ring_gaps, ns.requests};
    memcpy(v, a, sizeof a);
    return 0;
}

static int kv_values(size_t i, uint64_t *v)
{
    amid_nats_kv_stats ks;
    if (amid_nats_kv_stats_get(i, &ks) != 0)
        return -1;
    uint64_t a[] = {ks.puts,      ks.deletes,    ks.pending,
                    ks.inflight,  ks.reconciles, ks.errors,
                    ks.overflows, ks.skipped,    (uint64_t)ks.reconcile_wanted};
    memcpy(v, a, sizeof a);
    return 0;
}

/* The most families one list has (each caller asserts it). */
#define MAX_FAMILIES 16

/* Families labelled by server: each name with its HELP and TYPE (help[k]
 * is "TYPE text"), then one line per server that has values. */
static void put_server_families(mbuf *b, const char *const *names, const char *const *help,
                                size_t n, server_values_fn values)
{
    uint64_t v[MAX_FAMILIES];
    for (size_t k = 0; k < n; k++) {
        const char *sp = strchr(help[k], ' ');
        put(b, "# HELP %s %s\n# TYPE %s %.*s\n", names[k], sp + 1, names[k], (int)(sp - help[k]),
            help[k]);
        for (size_t i = 0; i < amid->n_servers; i++)
            if (values(i, v) == 0)
                put(b, "%s{server=\"%s\"} %llu\n", names[k], amid->servers[i].conf->name,
                    (unsigned long long)v[k]);
    }
}

char *amid_metrics_text(size_t *len)
{
    mbuf b = {malloc(8192), 0, 8192, 0};
    if (!b.p)
        return NULL;
    b.p[0] = '\0';
    put(&b, "# HELP amid_server_connected 1 when logged in to the PBX.\n"
            "# TYPE amid_server_connected gauge\n");
    for (size_t i = 0; i < amid->n_servers; i++)
        put(&b, "amid_server_connected{server=\"%s\"} %d\n", amid->servers[i].conf->name,
            amid->servers[i].state == AMI_ASYNC_UP);
#define PER_SERVER(M, TYPE, HELP, FIELD)                                                           \
    put(&b, "# HELP " M " " HELP "\n# TYPE " M " " TYPE "\n");                                     \
    for (size_t i = 0; i < amid->n_servers; i++)                                                   \
        put(&b, M "{server=\"%s\"} %llu\n", amid->servers[i].conf->name,                           \
            (unsigned long long)amid->servers[i].FIELD);
    PER_SERVER("amid_events_total", "counter", "Events received (rate() gives events/s).",
               events_total)
    PER_SERVER("amid_reconnects_total", "counter", "Logins after the first.", reconnects)
    PER_SERVER("amid_pbx_gaps_total", "counter", "Gaps from lost PBX connections.", pbx_gaps)
    PER_SERVER("amid_pending_actions", "gauge", "Actions waiting for the PBX.", pending)
    PER_SERVER("amid_ring_events", "gauge", "Events kept for resuming.", ring_count)
    PER_SERVER("amid_ring_bytes", "gauge", "Bytes kept for resuming.", ring_bytes)
    PER_SERVER("amid_last_seq", "gauge", "Last sequence number given.", seq)
    PER_SERVER("amid_unmatched_responses_total", "counter",
               "Responses nobody waited for (not broadcast).", unmatched)
    for (size_t i = 0; i < amid->n_servers; i++) {
        ami_async_stats st;
        if (!amid->servers[i].a)
            continue;
        ami_async_stats_get(amid->servers[i].a, &st);
        put(&b, "amid_upstream_paused{server=\"%s\"} %d\n", amid->servers[i].conf->name, st.paused);
        put(&b, "amid_upstream_paused_ms_total{server=\"%s\"} %llu\n", amid->servers[i].conf->name,
            (unsigned long long)st.paused_ms);
    }
    amid_nats_stats ns;
    if (amid->n_servers && amid_nats_stats_get(0, &ns) == 0) {
        put(&b,
            "# HELP amid_nats_ready 1 when connected to NATS with the stream checked.\n"
            "# TYPE amid_nats_ready gauge\namid_nats_ready %d\n",
            ns.ready);
        put(&b,
            "# HELP amid_nats_connection_losses_total Connections to NATS that closed (each "
            "followed by a new one).\n"
            "# TYPE amid_nats_connection_losses_total counter\n"
            "amid_nats_connection_losses_total %llu\n",
            (unsigned long long)ns.connection_losses);
        static const char *const names[] = {
            "amid_nats_published_total", "amid_nats_acked_seq",    "amid_nats_inflight",
            "amid_nats_errors_total",    "amid_nats_resets_total", "amid_nats_ring_gaps_total",
            "amid_nats_requests_total"};
        static const char *const help[] = {
            "counter Publishes to JetStream (resends included).",
            "gauge Last sequence number JetStream confirmed, with all before it.",
            "gauge Publishes waiting for their acknowledgement.",
            "counter Failed publishes and error acknowledgements.",
            "counter Restarts from the last acknowledged event.",
            "counter Gap messages for events the ring lost before NATS took them.",
            "counter Action requests received over NATS."};
        _Static_assert(sizeof names / sizeof *names <= MAX_FAMILIES, "raise MAX_FAMILIES");
        put_server_families(&b, names, help, sizeof names / sizeof *names, nats_values);
    }
    amid_nats_kv_stats ks;
    if (amid->n_servers && amid_nats_kv_stats_get(0, &ks) == 0) {
        static const char *const names[] = {
            "amid_nats_kv_puts_total",       "amid_nats_kv_deletes_total",
            "amid_nats_kv_pending",          "amid_nats_kv_inflight",
            "amid_nats_kv_reconciles_total", "amid_nats_kv_errors_total",
            "amid_nats_kv_overflows_total",  "amid_nats_kv_skipped_total",
            "amid_nats_kv_reconcile_wanted"};
        static const char *const help[] = {
            "counter Keys written to the state bucket.",
            "counter Keys deleted from the state bucket.",
            "gauge Keys waiting to be written (changed, or part of a reconcile).",
            "gauge Bucket writes waiting for their acknowledgement.",
            "counter Full reconciles of the bucket with the state (keys listed, all written).",
            "counter Failed bucket writes, error acknowledgements and failed listings.",
            "counter Times more than kv_max_pending keys waited (a full reconcile instead).",
            "counter Objects left out of the bucket: an id that makes no key.",
            "gauge 1 while a full reconcile is owed or running."};
        _Static_assert(sizeof names / sizeof *names <= MAX_FAMILIES, "raise MAX_FAMILIES");
        put_server_families(&b, names, help, sizeof names / sizeof *names, kv_values);
    }
    put(&b,
        "# HELP amid_ws_clients WebSocket clients connected.\n# TYPE amid_ws_clients gauge\n"
        "amid_ws_clients %zu\n",
        amid->n_clients);
    put(&b, "# TYPE amid_ws_connects_total counter\namid_ws_connects_total %llu\n",
        (unsigned long long)amid->ws_connects);
    put(&b,
        "# HELP amid_ws_drops_total Backlogs dropped from slow clients (each a gap).\n"
        "# TYPE amid_ws_drops_total counter\namid_ws_drops_total %llu\n",
        (unsigned long long)amid->ws_drops);
    put(&b, "# TYPE amid_ws_slow_closed_total counter\namid_ws_slow_closed_total %llu\n",
        (unsigned long long)amid->ws_slow_closed);
    put(&b, "# HELP amid_ws_client_queue_bytes Bytes queued per client.\n"
            "# TYPE amid_ws_client_queue_bytes gauge\n");
    for (amid_client *c = amid->clients; c; c = c->next)
        put(&b, "amid_ws_client_queue_bytes{client=\"%llu\"} %zu\n", (unsigned long long)c->id,
            c->q_bytes);
    put(&b, "# TYPE amid_ws_client_drops_total counter\n");
    for (amid_client *c = amid->clients; c; c = c->next)
        put(&b, "amid_ws_client_drops_total{client=\"%llu\"} %llu\n", (unsigned long long)c->id,
            (unsigned long long)c->drops);
    put(&b, "# HELP amid_http_requests_total HTTP answers by status.\n"
            "# TYPE amid_http_requests_total counter\n");
    for (int s = 100; s < 600; s++)
        if (amid->http_by_status[s])
            put(&b, "amid_http_requests_total{code=\"%d\"} %llu\n", s,
                (unsigned long long)amid->http_by_status[s]);
    put(&b, "# TYPE amid_reloads_total counter\namid_reloads_total %llu\n",
        (unsigned long long)amid->reloads);
    put(&b, "# TYPE amid_reload_failures_total counter\namid_reload_failures_total %llu\n",
        (unsigned long long)amid->reload_failures);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
