/* One ami_async per [server], driven by the libuv adapter on amid's loop.
 * Events go to the hub; responses nobody waits for are counted and never
 * broadcast (they belong to no subscriber); libami's AmiGap notice after a
 * reconnect becomes an in-stream gap message. */
#include "app.h"

#include <ami/adapters/libuv.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

amid_server *amid_server_find(const char *name)
{
    for (size_t i = 0; i < amid->n_servers; i++)
        if (strcmp(amid->servers[i].conf->name, name) == 0)
            return &amid->servers[i];
    return NULL;
}

const char *amid_server_state_name(const amid_server *s)
{
    switch (s->state) {
    case AMI_ASYNC_UP:
        return "up";
    case AMI_ASYNC_CONNECTING:
    case AMI_ASYNC_LOGGING_IN:
        return "connecting";
    default:
        return "down";
    }
}

static void on_event(ami_async *a, const ami_packet *p, void *ud)
{
    (void)a;
    amid_server *s = ud;
    if (ami_packet_kind_of(p) == AMI_PACKET_RESPONSE) {
        s->unmatched++;
        return;
    }
    amid_state_on_event(s, p);
    const char *name = ami_packet_event_name(p);
    if (name && strcmp(name, AMI_ASYNC_GAP_EVENT) == 0) {
        /* State clients hear of it now; their fresh snapshot follows
         * when the store has resynchronised. */
        amid_msg *g = amid_gap_msg(s, 0, 0, "pbx_reconnect", NULL);
        for (amid_client *c = s->state_clients; g && c; c = c->state_next)
            amid_client_push_ctl(c, amid_msg_ref(g));
        if (g)
            amid_msg_unref(g);
        amid_warn("pbx gap", "server=%s gap_ms=%s", s->conf->name,
                  ami_packet_get(p, "GapMs") ? ami_packet_get(p, "GapMs") : "?");
        amid_hub_publish_pbx_gap(s, p);
        return;
    }
    amid_hub_publish(s, p);
}

static void on_state(ami_async *a, ami_async_state st, ami_async_reason why, void *ud)
{
    amid_server *s = ud;
    ami_async_state old = s->state;
    s->state = st;
    amid_state_on_state(s, st);
    char msg[256];
    if (st == AMI_ASYNC_UP) {
        s->connected_since = time(NULL);
        s->logins++;
        if (s->logins > 1)
            s->reconnects++;
        int ma, mi, pa;
        ami_session *ses = ami_async_session(a);
        if (ses && ami_session_version(ses, &ma, &mi, &pa) == 0)
            snprintf(s->version, sizeof s->version, "%d.%d.%d", ma, mi, pa);
        amid_info("pbx up", "server=%s host=%s port=%u version=%s", s->conf->name, s->conf->host,
                  s->conf->port, s->version);
    } else if (old == AMI_ASYNC_UP || st == AMI_ASYNC_DISCONNECTED || st == AMI_ASYNC_STOPPED) {
        s->connected_since = 0;
        /* The drain's own Logoff ends the connection on purpose: news,
         * not a warning. */
        if (amid->draining)
            amid_info("pbx closed for the stop", "server=%s state=%s reason=%s", s->conf->name,
                      ami_async_state_name(st), ami_async_reason_name(why));
        else
            amid_warn("pbx down", "server=%s state=%s reason=%s detail=\"%s\"", s->conf->name,
                      ami_async_state_name(st), ami_async_reason_name(why),
                      amid_log_clean(msg, sizeof msg, ami_async_errmsg(a)));
    }
}

int amid_upstream_start(amid_server *s)
{
    amid_server_conf *c = s->conf;
    if (ami_async_create(&s->a) != 0)
        return -1;
    ami_async_set_data(s->a, s);
    if (ami_async_set_server(s->a, c->host, c->port) != 0 ||
        ami_async_set_login(s->a, c->username, c->secret, AMI_LOGIN_PLAIN) != 0 ||
        ami_async_set_events(s->a, c->events ? c->events : "on") != 0)
        return -1;
    ami_async_set_event_cb(s->a, on_event, s);
    ami_async_set_state_cb(s->a, on_state, s);
    if (c->keepalive_ms)
        ami_async_set_keepalive(s->a, c->keepalive_ms, c->keepalive_ms);
    /* Retry forever, also after a refused login: an operator fixing the
     * PBX side should not have to restart amid. */
    ami_async_set_reconnect(s->a, 1, 250, 10000, 1);
    if (!ami_libuv_attach(amid->loop, s->a) || amid_state_start(s) != 0)
        return -1;
    return ami_async_start(s->a);
}

void amid_upstream_stop(amid_server *s)
{
    amid_state_stop(s); /* the link before its handle */
    if (s->a) {
        ami_async_free(s->a); /* pending actions fail with CANCELLED */
        s->a = NULL;
    }
}

static void on_result(ami_async *a, ami_result *r, void *ud)
{
    (void)a;
    amid_req *req = ud;
    req->srv->pending--;
    int st = ami_result_status(r);
    int http = amid_status_of(st);
    json_t *body;
    if (http == 200 && ami_result_response(r)) {
        body = amid_result_json(r);
        if (req->is_command) {
            json_t *out = json_array();
            for (size_t i = 0; i < ami_result_output_count(r); i++) {
                size_t n;
                const char *line = ami_result_output_line(r, i, &n);
                json_t *j = json_stringn(line, n);
                json_array_append_new(out, j ? j : json_string("\xef\xbf\xbd"));
            }
            json_object_set_new(body, "output", out);
        }
    } else {
        if (http == 200)
            http = 502;
        char m[256];
        body = json_pack("{s:s}", "error", amid_log_clean(m, sizeof m, ami_result_message(r)));
    }
    ami_result_free(r);
    amid_req_done(req, http, body);
}

int amid_upstream_send(amid_server *s, const ami_action *act, amid_req *req)
{
    if (!s->a || s->state != AMI_ASYNC_UP)
        return AMI_ERR_STATE;
    int r = ami_async_send(s->a, act, s->conf->action_timeout_ms, on_result, req, NULL);
    if (r == 0)
        s->pending++;
    return r;
}
