/* WebSocket clients: GET /v1/events?server=NAME&filter=Key=Value&since=EPOCH:SEQ.
 * The upgrade is checked (Origin, token or session, parameters) before
 * lws completes it, so a refusal is an HTTP status. Messages out are
 * events ({"server","seq","epoch","event"}), gaps ({"type":"gap",...})
 * and replies to actions sent over the socket ({"id","action"}). */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The user area is http.c's pss; ws.c uses only its first two members. */
typedef struct ws_pss {
    int is_ws;
    amid_client *client;
} ws_pss;

typedef struct ws_params {
    amid_server *servers[64];
    size_t n_servers;
    char *fkey[AMID_MAX_FILTERS], *fval[AMID_MAX_FILTERS];
    size_t n_filters;
    int state; /* /v1/state */
    int has_since;
    char since_epoch[64];
    uint64_t since_seq;
} ws_params;

static void params_free(ws_params *wp)
{
    for (size_t i = 0; i < wp->n_filters; i++) {
        free(wp->fkey[i]);
        free(wp->fval[i]);
    }
    wp->n_filters = 0;
}

/* Returns 0, or an HTTP status with why. */
static int parse_params(struct lws *wsi, amid_token *t, ws_params *wp, char *why, size_t whycap)
{
    memset(wp, 0, sizeof *wp);
    char path[128];
    if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) <= 0 ||
        (strcmp(path, "/v1/events") != 0 && strcmp(path, "/v1/state") != 0)) {
        snprintf(why, whycap, "no WebSocket here (use /v1/events or /v1/state)");
        return 404;
    }
    wp->state = !strcmp(path, "/v1/state");
    char frag[512];
    for (int i = 0; i < 64; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (!strncmp(frag, "server=", 7)) {
            amid_server *s = amid_server_find(frag + 7);
            if (!s) {
                snprintf(why, whycap, "no server '%.64s'", frag + 7);
                return 404;
            }
            if (!amid_perm_server(t, s->conf->name)) {
                snprintf(why, whycap, "servers: token '%s' may not use server '%.64s'", t->name,
                         frag + 7);
                return 403;
            }
            int dup = 0;
            for (size_t k = 0; k < wp->n_servers; k++)
                dup |= wp->servers[k] == s;
            if (!dup)
                wp->servers[wp->n_servers++] = s;
        } else if (!strncmp(frag, "filter=", 7)) {
            char *eq = strchr(frag + 7, '=');
            if (!eq || eq == frag + 7 || wp->n_filters == AMID_MAX_FILTERS) {
                snprintf(why, whycap, "filter: expected filter=Key=Value (at most %d)",
                         AMID_MAX_FILTERS);
                return 400;
            }
            *eq = '\0';
            wp->fkey[wp->n_filters] = strdup(frag + 7);
            wp->fval[wp->n_filters] = strdup(eq + 1);
            wp->n_filters++;
        } else if (!strncmp(frag, "since=", 6)) {
            char *colon = strrchr(frag + 6, ':');
            char *end;
            if (!colon || colon == frag + 6 ||
                (size_t)(colon - frag - 6) >= sizeof wp->since_epoch) {
                snprintf(why, whycap, "since: expected EPOCH:SEQ");
                return 400;
            }
            unsigned long long seq = strtoull(colon + 1, &end, 10);
            if (*end || end == colon + 1) {
                snprintf(why, whycap, "since: expected EPOCH:SEQ");
                return 400;
            }
            memcpy(wp->since_epoch, frag + 6, (size_t)(colon - frag - 6));
            wp->since_epoch[colon - frag - 6] = '\0';
            wp->since_seq = seq;
            wp->has_since = 1;
        } else {
            snprintf(why, whycap, "unknown parameter '%.32s'", frag);
            return 400;
        }
    }
    if (!wp->n_servers)
        for (size_t i = 0; i < amid->n_servers && wp->n_servers < 64; i++)
            if (amid_perm_server(t, amid->servers[i].conf->name))
                wp->servers[wp->n_servers++] = &amid->servers[i];
    if (!wp->n_servers) {
        snprintf(why, whycap, "servers: token '%s' may use no server", t->name);
        return 403;
    }
    if (wp->state) {
        if (wp->n_servers != 1 || wp->n_filters || wp->has_since) {
            snprintf(why, whycap, "/v1/state takes exactly one server= and nothing else");
            return 400;
        }
        return amid_state_allowed(t, wp->servers[0], why, whycap);
    }
    if (wp->has_since && wp->n_servers != 1) {
        snprintf(why, whycap, "since: give exactly one server= with since=");
        return 400;
    }
    return 0;
}

static void client_free(amid_client *c)
{
    amid_state_detach(c);
    for (size_t i = 0; i < c->n_subs; i++)
        amid_hub_unsubscribe(&c->subs[i]);
    free(c->subs);
    for (size_t i = 0; i < c->n_filters; i++) {
        free(c->filter_key[i]);
        free(c->filter_val[i]);
    }
    amid_client_free_queues(c);
    /* Actions still pending answer into the void. */
    for (amid_req *r = amid->reqs; r; r = r->next)
        if (r->client == c)
            r->client = NULL;
    free(c->rx);
    if (c->prev)
        c->prev->next = c->next;
    else if (amid->clients == c)
        amid->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    amid->n_clients--;
    free(c);
}

static void send_error(amid_client *c, json_t *id, int status, const char *why)
{
    json_t *o = json_pack("{s:O?, s:i, s:s}", "id", id, "status", status, "error", why);
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!txt)
        return;
    amid_msg *m = amid_msg_new(txt, strlen(txt));
    free(txt);
    if (m)
        amid_client_push_ctl(c, m);
}

static void on_message(amid_client *c, const char *data, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    char why[512];
    if (!root || !json_is_object(root)) {
        snprintf(why, sizeof why, "bad JSON: %s", root ? "expected an object" : jerr.text);
        send_error(c, NULL, 400, why);
        json_decref(root);
        return;
    }
    json_t *id = json_object_get(root, "id");
    json_t *action = json_object_get(root, "action");
    const char *sname = json_string_value(json_object_get(root, "server"));
    if (!c->token) {
        send_error(c, id, 401, "the token was revoked");
        json_decref(root);
        return;
    }
    amid_server *s = NULL;
    if (sname)
        s = amid_server_find(sname);
    else if (c->n_subs == 1)
        s = c->subs[0].srv;
    if (!s) {
        send_error(c, id, sname ? 404 : 400,
                   sname ? "no such server" : "name the \"server\" (several are subscribed)");
        json_decref(root);
        return;
    }
    if (!action) {
        send_error(c, id, 400, "expected {\"id\": ..., \"action\": {...}}");
        json_decref(root);
        return;
    }
    if (c->ws_pending >= AMID_MAX_WS_PENDING) {
        send_error(c, id, 429, "rate: too many actions pending on this socket");
        json_decref(root);
        return;
    }
    amid_req *req = calloc(1, sizeof *req);
    if (!req) {
        send_error(c, id, 503, "out of memory");
        json_decref(root);
        return;
    }
    req->next = amid->reqs;
    if (amid->reqs)
        amid->reqs->prev = req;
    amid->reqs = req;
    amid->n_reqs++;
    req->client = c;
    req->ws_id = id ? json_incref(id) : NULL;
    int st;
    if (!amid_perm_server(c->token, s->conf->name)) {
        snprintf(why, sizeof why, "servers: token '%s' may not use server '%s'", c->token->name,
                 s->conf->name);
        st = 403;
    } else
        st = amid_run_action(c->token, s, action, req, why, sizeof why);
    if (st) {
        send_error(c, id, st, why);
        json_decref(req->ws_id);
        amid_req_unlink(req);
        free(req);
    } else
        c->ws_pending++;
    json_decref(root);
}

int amid_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    ws_pss *p = user;
    char why[512];
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        if (!in || strcmp((const char *)in, "websocket") != 0)
            return -1;
        amid_token *t;
        ws_params wp;
        int st = amid_auth(wsi, &t, why, sizeof why);
        if (!st && amid->draining) {
            st = 503;
            snprintf(why, sizeof why, "amid is shutting down");
        }
        if (!st && amid->n_clients >= (size_t)amid->cfg.max_clients) {
            st = 503;
            snprintf(why, sizeof why, "max_clients reached");
        }
        if (!st) {
            st = parse_params(wsi, t, &wp, why, sizeof why);
            params_free(&wp);
        }
        if (st)
            return amid_http_reject_now(wsi, st, why);
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        memset(p, 0, sizeof *p);
        p->is_ws = 1;
        amid_token *t;
        ws_params wp;
        if (amid_auth(wsi, &t, why, sizeof why) || parse_params(wsi, t, &wp, why, sizeof why))
            return -1;
        amid_client *c = calloc(1, sizeof *c);
        if (!c || !(c->subs = calloc(wp.n_servers, sizeof *c->subs))) {
            free(c);
            params_free(&wp);
            return -1;
        }
        c->wsi = wsi;
        c->id = ++amid->next_client_id;
        c->token = t;
        memcpy(c->token_hash, t->hash, 32);
        c->event_mask = amid_token_event_mask(t);
        for (size_t i = 0; i < wp.n_filters; i++) {
            c->filter_key[i] = wp.fkey[i];
            c->filter_val[i] = wp.fval[i];
        }
        c->n_filters = wp.n_filters;
        wp.n_filters = 0;
        c->next = amid->clients;
        if (amid->clients)
            amid->clients->prev = c;
        amid->clients = c;
        amid->n_clients++;
        amid->ws_connects++;
        p->client = c;
        if (wp.state)
            amid_state_attach(c, wp.servers[0]);
        else
            for (size_t i = 0; i < wp.n_servers; i++)
                amid_hub_subscribe(c, wp.servers[i], wp.has_since, wp.since_epoch, wp.since_seq);
        amid_info("ws open", "client=%llu token=%s servers=%zu since=%s", (unsigned long long)c->id,
                  t->name, wp.n_servers, wp.has_since ? "yes" : "no");
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!p->client)
            return -1;
        return amid_client_write(p->client);
    case LWS_CALLBACK_RECEIVE: {
        amid_client *c = p->client;
        if (!c)
            return -1;
        if (c->closing)
            return 0; /* closing: nothing more is taken */
        if (c->rx_len + len > amid->cfg.max_body_bytes) {
            c->closing = 1;
            snprintf(c->close_reason, sizeof c->close_reason, "message over max_body_bytes");
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                             (unsigned char *)c->close_reason, strlen(c->close_reason));
            return -1;
        }
        char *nb = realloc(c->rx, c->rx_len + len + 1);
        if (!nb)
            return -1;
        c->rx = nb;
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            on_message(c, c->rx, c->rx_len);
            c->rx_len = 0;
        }
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        if (p && p->is_ws && p->client) {
            amid_info("ws close", "client=%llu sent=%llu drops=%llu",
                      (unsigned long long)p->client->id, (unsigned long long)p->client->sent,
                      (unsigned long long)p->client->drops);
            client_free(p->client);
            p->client = NULL;
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

void amid_ws_check_slow(uint64_t now_ms)
{
    for (amid_client *c = amid->clients; c; c = c->next) {
        if (c->closing || !c->behind_since_ms)
            continue;
        if (now_ms - c->behind_since_ms >= (uint64_t)amid->cfg.slow_client_timeout_ms) {
            c->closing = 1;
            snprintf(c->close_reason, sizeof c->close_reason,
                     "too slow: behind for %d ms (slow_client_timeout)",
                     amid->cfg.slow_client_timeout_ms);
            amid->ws_slow_closed++;
            amid_warn("ws slow close", "client=%llu drops=%llu", (unsigned long long)c->id,
                      (unsigned long long)c->drops);
            lws_callback_on_writable(c->wsi);
            /* A client that reads nothing never becomes writable: the
             * close frame cannot reach it, so lws drops it after 10 s. */
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 10);
        }
    }
}

void amid_ws_reresolve_tokens(void)
{
    for (amid_client *c = amid->clients; c; c = c->next) {
        c->token = NULL;
        for (size_t i = 0; i < amid->cfg.n_tokens; i++)
            if (!memcmp(amid->cfg.tokens[i].hash, c->token_hash, 32))
                c->token = &amid->cfg.tokens[i];
        if (!c->token) {
            c->closing = 1;
            snprintf(c->close_reason, sizeof c->close_reason, "token revoked");
            lws_callback_on_writable(c->wsi);
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
        } else
            c->event_mask = amid_token_event_mask(c->token);
    }
}

void amid_ws_close_all(const char *why)
{
    for (amid_client *c = amid->clients; c; c = c->next) {
        if (c->closing)
            continue;
        c->closing = 1;
        snprintf(c->close_reason, sizeof c->close_reason, "%s", why);
        lws_callback_on_writable(c->wsi);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 2);
    }
}
