/* Event delivery (read permission, Events mask, per-session filters) and
 * the actions that steer it: Events, Filter, UserEvent, WaitEvent. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* manager.c's match_filter(): with only include filters an event must match
 * one; with only exclude filters it must match none; with both, include
 * first, then exclude. */
static int filters_pass(const sim_conn *c, const char *text)
{
    int have_inc = 0, inc_hit = 0, exc_hit = 0;
    for (const sim_filter *f = c->filters; f; f = f->next) {
        int hit = regexec(&f->re, text, 0, NULL, 0) == 0;
        if (f->exclude) {
            exc_hit |= hit;
        } else {
            have_inc = 1;
            inc_hit |= hit;
        }
    }
    if (have_inc && !inc_hit)
        return 0;
    return !exc_hit;
}

void sim_deliver(sim_conn *c, int cls, const char *text, size_t len)
{
    if (!c->authed || c->dead || c->closing || !c->user)
        return;
    if ((c->user->readperm & cls) != cls || (c->send_events & cls) != cls)
        return;
    if (c->filters && !filters_pass(c, text))
        return;
    if (c->waiting)
        sim_buf_append(&c->waitbuf, text, len);
    else
        sim_conn_send(c, text, len);
}

void sim_broadcast(sim *s, int cls, const char *text, size_t len)
{
    /* manager_event() stamps the event once: every session gets the same
     * bytes (timestamp.c). */
    sim_buf stamped = {0};
    if (s->opt.timestamp_events) {
        sim_buf_put_stamped(&stamped, text, len, sim_stamp_next(s));
        text = stamped.data;
        len = stamped.len;
    }
    for (sim_conn *c = s->conns; c; c = c->next) {
        sim_deliver(c, cls, text, len);
        /* Any event ends a WaitEvent, even one this session does not get
         * (as captured in waitevent.raw). The loop finishes it next turn,
         * so a burst of events lands in the same answer. */
        if (c->waiting)
            c->wait_deadline = 0;
    }
    sim_buf_free(&stamped);
}

void sim_action_events(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *mask = ami_packet_get(p, "EventMask");
    int m = sim_events_mask(mask);
    if (m < 0) {
        /* Asterisk sends nothing at all here, leaving the client waiting;
         * the sim answers instead (documented deviation). */
        sim_send_error(c, id, "Missing EventMask");
        return;
    }
    c->send_events = m;
    sim_buf b = {0};
    sim_resp_start(&b, "Success", id);
    sim_hdr(&b, "Events", m ? "On" : "Off");
    sim_buf_append(&b, "\r\n", 2);
    sim_conn_send_response(c, &b);
    sim_buf_free(&b);
}

void sim_action_filter(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *op = ami_packet_get(p, "Operation");
    const char *filter = ami_packet_get(p, "Filter");
    if (!op || strcasecmp(op, "Add") != 0) {
        sim_send_error(c, id, "Unknown operation");
        return;
    }
    if (!filter || !*filter) {
        sim_send_error(c, id,
                       "Filter was formatted incorrectly.  Check the syntax of the filter given.");
        return;
    }
    sim_filter *f = sim_xmalloc(sizeof *f);
    f->exclude = filter[0] == '!';
    if (regcomp(&f->re, filter + f->exclude, REG_EXTENDED | REG_NOSUB) != 0) {
        free(f);
        sim_send_error(c, id, "Filter did not compile.  Check the syntax of the filter given.");
        return;
    }
    f->next = c->filters;
    c->filters = f;
    sim_send_ack(c, id, "Success");
}

void sim_filters_free(sim_conn *c)
{
    while (c->filters) {
        sim_filter *f = c->filters;
        c->filters = f->next;
        regfree(&f->re);
        free(f);
    }
}

void sim_action_userevent(sim_conn *c, const ami_packet *p, const char *id)
{
    (void)id;
    const char *name = ami_packet_get(p, "UserEvent");
    sim_buf b = {0};
    sim_buf_puts(&b, "Event: UserEvent\r\nPrivilege: user,all\r\n");
    sim_hdr(&b, "UserEvent", name ? name : "");
    /* Every other header is echoed in order, repeats and the ActionID
     * included, like action_userevent(). */
    size_t n = ami_packet_count(p);
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t kl, vl;
        ami_packet_header(p, i, &k, &kl, &v, &vl);
        if ((kl == 9 && strncasecmp(k, "UserEvent", 9) == 0) ||
            (kl == 6 && strncasecmp(k, "Action", 6) == 0))
            continue;
        sim_buf_append(&b, k, kl);
        sim_buf_append(&b, ": ", 2);
        sim_buf_append(&b, v, vl);
        sim_buf_append(&b, "\r\n", 2);
    }
    sim_buf_append(&b, "\r\n", 2);
    sim_send_ack(c, id, "Event Sent");
    sim_broadcast(c->sim, SIM_USER, b.data, b.len);
    sim_buf_free(&b);
}

void sim_action_waitevent(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *t = ami_packet_get(p, "Timeout");
    long secs = t && *t ? strtol(t, NULL, 10) : -1;
    if (secs < 0 || secs > 3600)
        secs = 60;
    c->waiting = 1;
    c->wait_deadline = sim_now_ms() + (uint64_t)secs * 1000u;
    free(c->wait_action_id);
    c->wait_action_id = id ? sim_xstrdup(id) : NULL;
    sim_buf_reset(&c->waitbuf);
}

void sim_wait_finish(sim_conn *c)
{
    c->waiting = 0;
    sim_buf b = {0};
    sim_resp_start(&b, "Success", c->wait_action_id);
    sim_hdr(&b, "Message", "Waiting for Event completed.");
    sim_buf_append(&b, "\r\n", 2);
    /* An empty wait buffer may have no storage at all (NULL + 0 is UB). */
    if (sim_buf_pending(&c->waitbuf))
        sim_buf_append(&b, c->waitbuf.data + c->waitbuf.off, sim_buf_pending(&c->waitbuf));
    sim_buf_puts(&b, "Event: WaitEventComplete\r\n");
    if (c->wait_action_id)
        sim_hdr(&b, "ActionID", c->wait_action_id);
    sim_buf_append(&b, "\r\n", 2);
    sim_conn_send_response(c, &b);
    sim_buf_free(&b);
    sim_buf_reset(&c->waitbuf);
    sim_conn_resume(c);
}
