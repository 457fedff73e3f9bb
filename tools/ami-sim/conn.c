/* One client connection: bounded input through the libami parser, an
 * output buffer drained by non-blocking writes, and Asterisk's rule that a
 * client which does not read for --write-timeout ms is dropped. */
#include "replay_timeline.h"
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Asterisk reads at most 1024 bytes per line and 128 lines per action;
 * anything beyond is hostile and ends the connection. */
#define MAX_INPUT_PACKET (AMI_ACTION_MAX_LINE * AMI_ACTION_MAX_HEADERS)
/* While actions are not being processed (WaitEvent, a failed login's
 * delay), stop reading once this much input is buffered. */
#define MAX_INPUT_BUFFERED (256 * 1024)

static void describe(const struct sockaddr_storage *ss, char *buf, size_t n)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    const char *fam = "IPV4";
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        fam = "IPV6";
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
    }
    snprintf(buf, n, "%s/TCP/%s/%d", fam, ip, port);
}

sim_conn *sim_conn_new(sim *s, int fd)
{
    sim_conn *c = sim_xmalloc(sizeof *c);
    memset(c, 0, sizeof *c);
    c->sim = s;
    c->fd = fd;
    c->id = ++s->next_conn_id;
    c->send_events = -1; /* manager.c's default: everything the user may read */
    if (ami_parser_create(&c->parser, 0) != 0) {
        fputs("ami-sim: out of memory\n", stderr);
        exit(1);
    }
    ami_parser_set_limits(c->parser, AMI_ACTION_MAX_LINE, AMI_ACTION_MAX_HEADERS, MAX_INPUT_PACKET);
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);

    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        describe(&ss, c->local_desc, sizeof c->local_desc);
    sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        describe(&ss, c->remote_desc, sizeof c->remote_desc);

    if (sim_tls_conn_start(c) != 0) {
        fputs("ami-sim: cannot start TLS on a connection\n", stderr);
        c->dead = 1;
    }
    c->next = s->conns;
    s->conns = c;
    if (sim_timeline_on())
        sim_timeline_start(c);
    else
        sim_send_banner(c);
    return c;
}

void sim_conn_free(sim_conn *c)
{
    sim_tls_conn_free(c);
    if (c->fd >= 0)
        close(c->fd);
    ami_parser_free(c->parser);
    sim_buf_free(&c->out);
    sim_buf_free(&c->waitbuf);
    sim_filters_free(c);
    free(c->hold_action_id);
    free(c->wait_action_id);
    free(c);
}

sim_conn *sim_conn_by_id(sim *s, unsigned id)
{
    for (sim_conn *c = s->conns; c; c = c->next)
        if (c->id == id && !c->dead)
            return c;
    return NULL;
}

void sim_conn_send(sim_conn *c, const char *data, size_t len)
{
    if (c->dead || c->closing)
        return;
    if (sim_buf_pending(&c->out) + len > c->sim->opt.max_output) {
        /* The client stopped reading long ago: drop it as Asterisk does
         * rather than buffer without bound. */
        if (c->sim->opt.verbose)
            fprintf(stderr, "ami-sim: conn %u: output over %zu bytes, dropping\n", c->id,
                    c->sim->opt.max_output);
        c->dead = 1;
        return;
    }
    sim_buf_append(&c->out, data, len);
}

void sim_conn_send_response(sim_conn *c, sim_buf *b)
{
    size_t n = sim_buf_pending(b);
    const char *d = b->data + b->off;
    if ((c->sim->opt.faults & SIM_FAULT_CLOSE_MID) && !c->cut_done) {
        c->cut_done = 1;
        sim_conn_send(c, d, n / 2);
        c->closing = 1;
        return;
    }
    sim_conn_send(c, d, n);
}

/* Take parsed actions while the connection may act on them. */
static void process(sim_conn *c)
{
    while (!c->dead && !c->closing && !c->waiting && !c->has_hold && !c->busy) {
        const ami_packet *p;
        int r = ami_parser_next(c->parser, &p);
        if (r == 0)
            return;
        if (r < 0) {
            if (c->sim->opt.verbose)
                fprintf(stderr, "ami-sim: conn %u: %s at byte %llu, closing\n", c->id,
                        ami_strerror(r), (unsigned long long)ami_parser_error_offset(c->parser));
            c->dead = 1;
            return;
        }
        if (ami_packet_count(p) == 0)
            continue;
        if (sim_timeline_on())
            continue; /* the timeline answers by byte counts, not actions */
        if (c->sim->replay_count)
            sim_replay_action(c, p);
        else
            sim_dispatch(c, p);
    }
}

int sim_conn_wants_read(const sim_conn *c)
{
    if (c->dead || c->closing || (c->sim->opt.faults & SIM_FAULT_STOP_READING))
        return 0;
    if ((c->waiting || c->has_hold || c->busy) &&
        ami_parser_buffered(c->parser) > MAX_INPUT_BUFFERED)
        return 0;
    return 1;
}

static int read_once(sim_conn *c)
{
    char *area;
    size_t alen;
    if (ami_parser_reserve(c->parser, 16384, &area, &alen) != 0) {
        c->dead = 1;
        return -1;
    }
    ssize_t n = sim_io_recv(c, area, alen);
    if (n == 0) {
        c->dead = 1;
        return -1;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        c->dead = 1;
        return -1;
    }
    sim_timeline_rx(c, (size_t)n);
    if (ami_parser_commit(c->parser, (size_t)n) != 0) {
        c->dead = 1;
        return -1;
    }
    process(c);
    return 1;
}

int sim_conn_on_readable(sim_conn *c, uint64_t now)
{
    (void)now;
    int r;
    /* Bytes TLS already decoded will not wake poll() again: take them. */
    do
        r = read_once(c);
    while (r > 0 && sim_io_pending(c) > 0 && sim_conn_wants_read(c));
    return r < 0 ? -1 : 0;
}

void sim_conn_resume(sim_conn *c)
{
    process(c);
}

int sim_conn_flush(sim_conn *c, uint64_t now)
{
    const sim_options *o = &c->sim->opt;
    while (!c->dead) {
        sim_generate(c);
        size_t n = sim_buf_pending(&c->out);
        if (n == 0)
            break;
        if (o->faults & SIM_FAULT_TRICKLE) {
            if (now < c->next_trickle)
                break;
            n = 1;
        }
        ssize_t w = sim_io_send(c, c->out.data + c->out.off, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (c->io_wait_read)
                break; /* the TLS handshake waits for the client, not its reading */
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!c->blocked_since)
                    c->blocked_since = now ? now : 1;
                break;
            }
            c->dead = 1;
            return -1;
        }
        c->blocked_since = 0;
        sim_buf_consume(&c->out, (size_t)w);
        if (o->faults & SIM_FAULT_TRICKLE) {
            c->next_trickle = now + (uint64_t)o->trickle_ms;
            break;
        }
    }
    if (!c->dead && c->closing && sim_buf_pending(&c->out) == 0)
        c->dead = 1;
    return 0;
}

uint64_t sim_conn_deadline(const sim_conn *c)
{
    const sim_options *o = &c->sim->opt;
    uint64_t d = AMI_NO_DEADLINE;
    if (c->has_hold && c->hold_until < d)
        d = c->hold_until;
    if (c->waiting && c->wait_deadline < d)
        d = c->wait_deadline;
    if (c->blocked_since && o->write_timeout_ms > 0) {
        uint64_t t = c->blocked_since + (uint64_t)o->write_timeout_ms;
        if (t < d)
            d = t;
    }
    if ((o->faults & SIM_FAULT_TRICKLE) && sim_buf_pending(&c->out) && c->next_trickle < d)
        d = c->next_trickle;
    if (sim_timeline_on() && sim_timeline_deadline(c) < d)
        d = sim_timeline_deadline(c);
    if (sim_firehose_deadline(c) < d)
        d = sim_firehose_deadline(c);
    return d;
}

void sim_conn_timers(sim_conn *c, uint64_t now)
{
    const sim_options *o = &c->sim->opt;
    if (c->dead)
        return;
    if (c->blocked_since && o->write_timeout_ms > 0 &&
        now >= c->blocked_since + (uint64_t)o->write_timeout_ms)
        sim_conn_flush(c, now); /* the client may have read while we were not scheduled */
    if (c->blocked_since && o->write_timeout_ms > 0 &&
        now >= c->blocked_since + (uint64_t)o->write_timeout_ms) {
        if (o->verbose)
            fprintf(stderr, "ami-sim: conn %u: write timed out, dropping\n", c->id);
        c->dead = 1;
        return;
    }
    if (c->has_hold && now >= c->hold_until)
        sim_conn_hold_expired(c);
    if (c->waiting && now >= c->wait_deadline)
        sim_wait_finish(c);
    if (sim_timeline_on())
        sim_timeline_run(c, now);
}
