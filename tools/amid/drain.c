/* The graceful stop (SIGTERM, SIGINT): nothing the PBX already sent is
 * lost. New requests get 503 and WebSocket clients are closed with a
 * reason; each PBX connection is logged off (Logoff) and read until the
 * PBX closes it after its Goodbye, so every event it wrote before that is
 * taken; pending actions get their answers; JetStream acknowledges every
 * event in the rings. Then amid stops, or at [amid] drain_timeout, with a
 * warning that counts what was cut short. (SIGKILL skips all this: what
 * the rings held unpublished is lost; an HA pair covers that, docs/nats.md.) */
#include "app.h"

#include <stdio.h>

static uint64_t drain_started_ms;

void amid_drain_start(int sig)
{
    amid_info("draining", "signal=%d pending=%zu clients=%zu drain_timeout_ms=%d", sig,
              amid->n_reqs, amid->n_clients, amid->cfg.drain_timeout_ms);
    amid->draining = 1;
    drain_started_ms = amid_now_ms();
    amid->drain_deadline = drain_started_ms + (uint64_t)amid->cfg.drain_timeout_ms;
    amid_ws_close_all("amid is shutting down");
    for (size_t i = 0; i < amid->n_servers; i++) {
        amid_server *s = &amid->servers[i];
        if (!s->a)
            continue;
        if (ami_async_get_state(s->a) == AMI_ASYNC_UP && ami_async_logoff(s->a) == 0) {
            amid_info("logging off the pbx", "server=%s", s->conf->name);
            continue;
        }
        /* Not logged in (or the Logoff cannot go): nothing more to read,
         * and no reconnection now. */
        ami_async_stop(s->a);
    }
}

/* The PBX closed the connection (or it was not up) and libami has handed
 * amid every event it had read. */
static int upstream_done(const amid_server *s)
{
    if (!s->a)
        return 1;
    ami_async_stats st;
    ami_async_stats_get(s->a, &st);
    return ami_async_get_state(s->a) != AMI_ASYNC_UP && st.queued == 0;
}

static uint64_t unpublished(size_t i)
{
    amid_nats_stats ns;
    if (amid_nats_stats_get(i, &ns) != 0)
        return 0;
    uint64_t seq = amid->servers[i].seq;
    return seq > ns.acked_seq ? seq - ns.acked_seq : 0;
}

int amid_drain_done(uint64_t now)
{
    int done = amid->n_reqs == 0 && amid->n_clients == 0 && amid_nats_idle();
    for (size_t i = 0; i < amid->n_servers && done; i++)
        done = upstream_done(&amid->servers[i]);
    if (done) {
        uint64_t events = 0;
        for (size_t i = 0; i < amid->n_servers; i++)
            events += amid->servers[i].events_total;
        amid_info("drained", "ms=%llu events_total=%llu",
                  (unsigned long long)(now - drain_started_ms), (unsigned long long)events);
        return 1;
    }
    if (now < amid->drain_deadline)
        return 0;
    uint64_t lost = 0;
    for (size_t i = 0; i < amid->n_servers; i++) {
        amid_server *s = &amid->servers[i];
        uint64_t u = unpublished(i);
        lost += u;
        if (u || !upstream_done(s))
            amid_warn("drain cut short: server not finished",
                      "server=%s pbx_closed=%s "
                      "unpublished=%llu last_seq=%llu",
                      s->conf->name, upstream_done(s) ? "yes" : "no", (unsigned long long)u,
                      (unsigned long long)s->seq);
    }
    amid_warn("drain cut short by drain_timeout, stopping anyway",
              "drain_timeout_ms=%d unpublished=%llu pending=%zu clients=%zu",
              amid->cfg.drain_timeout_ms, (unsigned long long)lost, amid->n_reqs, amid->n_clients);
    return 1;
}
