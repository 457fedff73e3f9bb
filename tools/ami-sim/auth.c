/* Login (plain and MD5 challenge), Challenge and Logoff, as manager.c. */
#include "sim.h"

#include <ami/client.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

static void event_tv(char *buf, size_t n)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(base + strlen(base), sizeof base - strlen(base), ".%03ld+0000",
             (long)(tv.tv_usec / 1000));
    snprintf(buf, n, "%s", base);
}

static int authenticate(sim_conn *c, const ami_packet *p)
{
    const char *user = ami_packet_get(p, "Username");
    const char *authtype = ami_packet_get(p, "AuthType");
    if (!user || !*user)
        return -1;
    const sim_user *u = sim_user_find(c->sim, user);
    if (!u)
        return -1;
    if (authtype && strcasecmp(authtype, "MD5") == 0) {
        const char *key = ami_packet_get(p, "Key");
        char want[33];
        if (!c->challenge[0] || !key || ami_md5_key(c->challenge, u->secret, want) != 0)
            return -1;
        if (strcasecmp(want, key) != 0)
            return -1;
    } else {
        const char *secret = ami_packet_get(p, "Secret");
        if (!secret || strcmp(secret, u->secret) != 0)
            return -1;
    }
    c->user = u;
    return 0;
}

void sim_action_login(sim_conn *c, const ami_packet *p, const char *id)
{
    if (c->authed) {
        sim_send_ack(c, id, "Already authenticated");
        return;
    }
    if (authenticate(c, p) != 0) {
        /* manager.c sleeps before answering a failed login; the sim holds
         * the connection (no more actions processed) on the loop's clock. */
        c->has_hold = 1;
        c->hold_until = sim_now_ms() + (uint64_t)c->sim->opt.auth_delay_ms;
        free(c->hold_action_id);
        c->hold_action_id = id ? sim_xstrdup(id) : NULL;
        if (c->sim->opt.auth_delay_ms <= 0)
            sim_conn_hold_expired(c);
        return;
    }
    c->authed = 1;
    const char *events = ami_packet_get(p, "Events");
    if (events && *events) {
        int m = sim_events_mask(events);
        if (m >= 0)
            c->send_events = m;
    }
    sim_send_ack(c, id, "Authentication accepted");
    /* A condition tests can wait on: from here on, events reach this
     * client (no fixed sleep after the connect). */
    if (c->sim->opt.verbose)
        fprintf(stderr, "ami-sim: conn %u: logged in\n", c->id);
    sim_conn_after_login(c);
}

void sim_conn_hold_expired(sim_conn *c)
{
    c->has_hold = 0;
    sim_send_error(c, c->hold_action_id, "Authentication failed");
    c->closing = 1;
}

void sim_conn_after_login(sim_conn *c)
{
    sim *s = c->sim;
    long up = (long)((sim_now_ms() - s->start_ms) / 1000u);
    sim_buf b = {0};
    sim_buf_printf(&b,
                   "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: %ld\r\n"
                   "LastReload: %ld\r\nStatus: Fully Booted\r\n\r\n",
                   up, up);
    sim_deliver(c, SIM_SYSTEM, b.data, b.len);

    char tv[48];
    event_tv(tv, sizeof tv);
    sim_buf_reset(&b);
    sim_buf_puts(&b, "Event: SuccessfulAuth\r\nPrivilege: security,all\r\n");
    sim_hdr(&b, "EventTV", tv);
    sim_hdr(&b, "Severity", "Informational");
    sim_hdr(&b, "Service", "AMI");
    sim_hdr(&b, "EventVersion", "1");
    sim_hdr(&b, "AccountID", c->user->name);
    sim_buf_printf(&b, "SessionID: %p\r\n", (void *)c);
    sim_hdr(&b, "LocalAddress", c->local_desc);
    sim_hdr(&b, "RemoteAddress", c->remote_desc);
    sim_hdr(&b, "UsingPassword", "0");
    sim_hdr(&b, "SessionTV", tv);
    sim_buf_append(&b, "\r\n", 2);
    sim_broadcast(s, SIM_SECURITY, b.data, b.len);
    sim_buf_free(&b);

    if (s->opt.firehose) {
        c->firehose_on = 1;
        c->firehose_left = s->opt.firehose;
    }
}

void sim_action_challenge(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *authtype = ami_packet_get(p, "AuthType");
    if (!authtype || strcasecmp(authtype, "MD5") != 0) {
        sim_send_error(c, id, "Must specify AuthType");
        return;
    }
    if (!c->challenge[0])
        snprintf(c->challenge, sizeof c->challenge, "%ld", random());
    sim_buf b = {0};
    sim_resp_start(&b, "Success", id);
    sim_hdr(&b, "Challenge", c->challenge);
    sim_buf_append(&b, "\r\n", 2);
    sim_conn_send_response(c, &b);
    sim_buf_free(&b);
}

void sim_action_logoff(sim_conn *c, const ami_packet *p, const char *id)
{
    (void)p;
    sim_buf b = {0};
    sim_resp_start(&b, "Goodbye", id);
    sim_hdr(&b, "Message", "Thanks for all the fish.");
    sim_buf_append(&b, "\r\n", 2);
    sim_conn_send_response(c, &b);
    sim_buf_free(&b);
    c->closing = 1;
}
