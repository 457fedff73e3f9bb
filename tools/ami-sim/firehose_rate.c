/*
 * --firehose-rate R: the firehose paced at R events per second instead of
 * as fast as the client reads, for latency benchmarks. Pacing runs on the
 * loop's own timer (sim_conn_deadline), never a sleep: each pass appends the
 * events due since the firehose started, so the long-run rate is exact
 * whatever the loop's granularity. Each event gets two more headers,
 * SimSeq (1, 2, ...) and SimSentUs (CLOCK_REALTIME in microseconds when it
 * was appended, i.e. just before the write), so a reader on the same
 * machine can compute the latency of every event and spot a missing one.
 * The connection gets TCP_NODELAY once pacing starts.
 */
#include "sim.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* As firehose.c: a reader that falls behind costs at most this much; the
 * events it owes are then appended once the buffer drains. */
#define PACED_MAX_QUEUED (256 * 1024)

/* Events due by `now`: the first at once, then one every 1000/R ms. */
static uint64_t due_by(const sim_conn *c, uint64_t now)
{
    if (!c->firehose_t0)
        return 1;
    uint64_t elapsed = now > c->firehose_t0 ? now - c->firehose_t0 : 0;
    return elapsed * c->sim->opt.firehose_rate / 1000 + 1;
}

void sim_firehose_paced(sim_conn *c, size_t nblock)
{
    uint64_t now = sim_now_ms();
    if (!c->firehose_t0) {
        c->firehose_t0 = now ? now : 1;
        /* A paced event is a small write: without this, Nagle holds it
         * until the previous one is acknowledged, and the figure would be
         * the peer's delayed-ACK timer rather than the reader's latency. */
        int one = 1;
        (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    uint64_t due = due_by(c, now);
    if (c->firehose_sent >= due || !c->firehose_left)
        return;
    /* One clock reading per pass: SimSentUs, and the Timestamp of
     * --timestamp-events, of every event this pass writes. Never the
     * reading of another pass, of this session or another, so no two
     * sessions' events share bytes (timestamp.c). */
    long long us = sim_stamp_next(c->sim);
    while (c->firehose_left && c->firehose_sent < due &&
           sim_buf_pending(&c->out) < PACED_MAX_QUEUED) {
        size_t i = (size_t)(c->firehose_sent % nblock);
        /* The pre-rendered event without its blank line, then the stamps. */
        sim_firehose_put(c, i, us);
        c->firehose_sent++;
        c->firehose_left--;
        sim_buf_printf(&c->out, "SimSeq: %llu\r\nSimSentUs: %lld\r\n\r\n",
                       (unsigned long long)c->firehose_sent, us);
    }
}

int sim_firehose_due(const sim_conn *c, uint64_t now)
{
    if (!c->firehose_on)
        return 0;
    if (!c->sim->opt.firehose_rate || !c->firehose_left)
        return 1; /* unpaced, or SimDone to write */
    return c->firehose_sent < due_by(c, now);
}

uint64_t sim_firehose_deadline(const sim_conn *c)
{
    uint64_t rate = c->sim->opt.firehose_rate;
    if (!c->firehose_on || !rate || !c->firehose_left || !c->firehose_t0)
        return AMI_NO_DEADLINE;
    /* While the reader is behind, POLLOUT wakes the loop, not the timer. */
    if (sim_buf_pending(&c->out) >= PACED_MAX_QUEUED)
        return AMI_NO_DEADLINE;
    /* Event number sent+1 is due once elapsed * R / 1000 >= sent. */
    return c->firehose_t0 + (c->firehose_sent * 1000 + rate - 1) / rate;
}
