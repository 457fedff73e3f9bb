/*
 * Bytes generated on demand rather than queued up front: the firehose
 * (--firehose N events after login, then SimDone) and the endless header of
 * --fault oversize-header. Output is topped up only while the connection's
 * buffer is below a low-water mark, so a slow reader costs no memory, and a
 * fast one gets large writes of many events each.
 */
#include "sim.h"

#include <string.h>

#define LOW_WATER    (256 * 1024)
#define BLOCK_EVENTS 64

/* Event boundaries in the block, so a final partial block stops exactly
 * at the requested count; and where each event's Timestamp goes. */
static size_t offsets[BLOCK_EVENTS + 1];
static size_t stamp_at[BLOCK_EVENTS];

void sim_firehose_init(sim *s)
{
    sim_buf *b = &s->firehose_block;
    sim_buf_reset(b);
    static const char *const states[] = {"Down", "Ring", "Up"};
    static const int state_num[] = {0, 4, 6};
    for (int i = 0; i < BLOCK_EVENTS; i++) {
        offsets[i] = b->len;
        int kind = i % 4; /* Newchannel, Newstate, VarSet, VarSet */
        int st = kind == 0 ? 0 : 2;
        const char *name = kind == 0 ? "Newchannel" : kind == 1 ? "Newstate" : "VarSet";
        const char *cls = kind >= 2 ? "dialplan,all" : "call,all";
        unsigned call = (unsigned)i / 4;
        sim_buf_printf(b,
                       "Event: %s\r\nPrivilege: %s\r\nChannel: Local/100@test-%08x;1\r\n"
                       "ChannelState: %d\r\nChannelStateDesc: %s\r\nCallerIDNum: 5551234\r\n"
                       "CallerIDName: AMI Test\r\nConnectedLineNum: 5551234\r\n"
                       "ConnectedLineName: AMI Test\r\nLanguage: en\r\nAccountCode: \r\n"
                       "Context: test\r\nExten: 100\r\nPriority: 1\r\n"
                       "Uniqueid: %ld.%u\r\nLinkedid: %ld.%u\r\n",
                       name, cls, call, state_num[st], states[st], (long)s->start_wall, call * 2,
                       (long)s->start_wall, call * 2);
        if (kind >= 2)
            sim_buf_printf(b, "Variable: %s\r\nValue: %s\r\n",
                           kind == 2 ? "ORIGVAR1" : "DIALSTATUS", kind == 2 ? "one" : "ANSWER");
        sim_buf_append(b, "\r\n", 2);
        stamp_at[i] = offsets[i] + sim_event_stamp_at(b->data + offsets[i], b->len - offsets[i]);
    }
    offsets[BLOCK_EVENTS] = b->len;
    s->firehose_block_events = BLOCK_EVENTS;
}

void sim_firehose_put(sim_conn *c, size_t i, long long us)
{
    const sim_buf *blk = &c->sim->firehose_block;
    size_t end = offsets[i + 1] - 2; /* without the blank line */
    if (!c->sim->opt.timestamp_events) {
        sim_buf_append(&c->out, blk->data + offsets[i], end - offsets[i]);
        return;
    }
    sim_buf_append(&c->out, blk->data + offsets[i], stamp_at[i] - offsets[i]);
    sim_buf_put_stamp(&c->out, us);
    sim_buf_append(&c->out, blk->data + stamp_at[i], end - stamp_at[i]);
}

/* Unpaced: whole blocks at a time, or, with --timestamp-events, one event
 * at a time, each with its own stamp. */
static void unpaced(sim_conn *c)
{
    sim *s = c->sim;
    const sim_buf *blk = &s->firehose_block;
    while (c->firehose_left && sim_buf_pending(&c->out) < LOW_WATER) {
        uint64_t n = c->firehose_left < BLOCK_EVENTS ? c->firehose_left : BLOCK_EVENTS;
        if (s->opt.timestamp_events)
            for (uint64_t i = 0; i < n; i++) {
                sim_firehose_put(c, (size_t)i, sim_stamp_next(s));
                sim_buf_append(&c->out, "\r\n", 2);
            }
        else
            sim_buf_append(&c->out, blk->data, offsets[n]);
        c->firehose_left -= n;
        c->firehose_sent += n;
    }
}

static void firehose(sim_conn *c)
{
    sim *s = c->sim;
    if (s->opt.firehose_rate)
        sim_firehose_paced(c, BLOCK_EVENTS);
    else
        unpaced(c);
    if (!c->firehose_left) {
        c->firehose_on = 0;
        sim_buf b = {0};
        sim_buf_printf(&b, "Event: SimDone\r\nPrivilege: system,all\r\nCount: %llu\r\n\r\n",
                       (unsigned long long)s->opt.firehose);
        if (s->opt.timestamp_events)
            sim_buf_put_stamped(&c->out, b.data, b.len, sim_stamp_next(s));
        else
            sim_buf_append(&c->out, b.data, b.len);
        sim_buf_free(&b);
    }
}

static void oversize(sim_conn *c)
{
    static char chunk[64 * 1024];
    if (!chunk[0])
        memset(chunk, 'A', sizeof chunk);
    while (sim_buf_pending(&c->out) < LOW_WATER)
        sim_buf_append(&c->out, chunk, sizeof chunk);
}

void sim_generate(sim_conn *c)
{
    if (c->dead || c->closing)
        return;
    if (c->firehose_on)
        firehose(c);
    if (c->oversize_on)
        oversize(c);
}
