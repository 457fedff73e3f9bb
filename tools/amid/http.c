/* The HTTP front: lws on amid's libuv loop (a foreign loop), one protocol
 * for REST, static files and the WebSocket upgrade. Routes:
 *   GET  /healthz, /metrics
 *   GET  /v1/servers
 *   POST /v1/servers/{name}/actions, /v1/servers/{name}/command
 *   POST/GET/DELETE /v1/session
 *   GET  /v1/events (WebSocket, see ws.c)
 *   GET  anything else: a file under `static`
 * Bodies are bounded by max_body_bytes, headers by lws's header pool. */
#include "app.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { M_OTHER, M_GET, M_POST, M_DELETE };

typedef struct pss {
    int is_ws;
    amid_client *client; /* ws.c */
    char path[256];
    int method;
    char *body;
    size_t body_len;
    int too_big;
    amid_req *req;
    /* the reply, once ready */
    int ready;
    int status;
    char *resp;
    size_t resp_len;
    const char *ctype;
    char cookie[192];
    int close_after;
} pss;

static int method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        return M_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        return M_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
        return M_DELETE;
    return M_OTHER;
}

static void count_status(int status)
{
    if (status >= 100 && status < 600)
        amid->http_by_status[status]++;
}

/* Schedules a reply; takes ownership of the text. */
static void reply_text(struct lws *wsi, pss *p, int status, const char *ctype, char *text,
                       size_t len)
{
    free(p->resp);
    p->resp = text;
    p->resp_len = len;
    p->status = status;
    p->ctype = ctype;
    p->ready = 1;
    count_status(status);
    lws_callback_on_writable(wsi);
}

static void reply_json(struct lws *wsi, pss *p, int status, json_t *body)
{
    char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!txt) {
        txt = strdup("{\"error\":\"out of memory\"}");
        status = 503;
    }
    reply_text(wsi, p, status, "application/json", txt, txt ? strlen(txt) : 0);
}

/* {"error": why, "status": N, "rule": "..."}: the rule is the config key
 * a 403 names (the text before the first ':'). */
json_t *amid_error_body(int status, const char *why)
{
    json_t *o = json_pack("{s:s, s:i}", "error", why, "status", status);
    if (o && status == 403) {
        const char *colon = strchr(why, ':');
        if (colon)
            json_object_set_new(o, "rule", json_stringn(why, (size_t)(colon - why)));
    }
    return o;
}

static void reply_error(struct lws *wsi, pss *p, int status, const char *why)
{
    reply_json(wsi, p, status, amid_error_body(status, why));
}

static int write_reply(struct lws *wsi, pss *p)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *q = start,
                                       *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)p->status, p->ctype, p->resp_len, &q, end))
        return -1;
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &q, end))
        return -1;
    if (p->cookie[0] && lws_add_http_header_by_name(wsi, (const unsigned char *)"set-cookie:",
                                                    (const unsigned char *)p->cookie,
                                                    (int)strlen(p->cookie), &q, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &q, end))
        return -1;
    unsigned char *buf = malloc(LWS_PRE + p->resp_len + 1);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, p->resp, p->resp_len);
    int w = lws_write(wsi, buf + LWS_PRE, p->resp_len, LWS_WRITE_HTTP_FINAL);
    free(buf);
    free(p->resp);
    p->resp = NULL;
    p->ready = 0;
    p->cookie[0] = '\0';
    if (w < 0 || p->close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

/* A rejection of a WebSocket upgrade, written at once. lws 4.1 would
 * write an HTTP/1.0 status line at this point (the request version is not
 * recorded yet), which WebSocket clients refuse to parse, so the response
 * is put together here. */
int amid_http_reject_now(struct lws *wsi, int status, const char *why)
{
    json_t *b = amid_error_body(status, why);
    char *txt = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!txt)
        return -1;
    count_status(status);
    size_t n = strlen(txt);
    unsigned char *buf = malloc(LWS_PRE + 256 + n);
    if (!buf) {
        free(txt);
        return -1;
    }
    int h =
        snprintf((char *)buf + LWS_PRE, 256 + n,
                 "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                 "content-length: %zu\r\ncache-control: no-store\r\nconnection: close\r\n\r\n%s",
                 status, reason_phrase(status), n, txt);
    int r = lws_write(wsi, buf + LWS_PRE, (size_t)h, LWS_WRITE_HTTP_HEADERS) < 0 ? -1 : 1;
    free(buf);
    free(txt);
    return r;
}

/* ------------------------------------------------------------- routes */

static json_t *servers_json(const amid_token *t)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < amid->n_servers; i++) {
        amid_server *s = &amid->servers[i];
        if (!amid_perm_server(t, s->conf->name))
            continue;
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:i}", "name", s->conf->name, "state",
                      amid_server_state_name(s), "host", s->conf->host, "port", (int)s->conf->port);
        json_object_set_new(o, "version", s->version[0] ? json_string(s->version) : json_null());
        if (s->connected_since) {
            char ts[32];
            struct tm tm;
            gmtime_r(&s->connected_since, &tm);
            strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
            json_object_set_new(o, "connected_since", json_string(ts));
        } else
            json_object_set_new(o, "connected_since", json_null());
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *list_json(const amid_list *l)
{
    if (l->all)
        return json_string("*");
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

static json_t *token_json(const amid_token *t)
{
    json_t *o = json_pack("{s:s}", "token", t->name);
    json_object_set_new(o, "servers", list_json(&t->servers));
    json_object_set_new(o, "actions", list_json(&t->actions));
    json_object_set_new(o, "events", list_json(&t->events));
    json_object_set_new(o, "originate_context",
                        t->has_contexts ? list_json(&t->contexts) : json_string("*"));
    json_object_set_new(o, "channels",
                        t->has_channels ? list_json(&t->channels) : json_string("*"));
    return o;
}

void amid_req_unlink(amid_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (amid->reqs == r)
        amid->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
    amid->n_reqs--;
}

amid_req *amid_req_new(void)
{
    amid_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->next = amid->reqs;
    if (amid->reqs)
        amid->reqs->prev = r;
    amid->reqs = r;
    amid->n_reqs++;
    return r;
}

void amid_req_done(amid_req *r, int status, json_t *body)
{
    if (r->wsi) {
        pss *p = lws_wsi_user(r->wsi);
        p->req = NULL;
        if (status != 200 && body && !json_object_get(body, "status"))
            json_object_set_new(body, "status", json_integer(status));
        reply_json(r->wsi, p, status, body);
        body = NULL;
    } else if (r->client) {
        json_t *o = json_object();
        json_object_set(o, "id", r->ws_id ? r->ws_id : json_null());
        json_object_set_new(o, "status", json_integer(status));
        if (status == 200 && body) {
            json_object_set(o, "response", json_object_get(body, "response"));
            json_object_set(o, "events", json_object_get(body, "events"));
            if (json_object_get(body, "output"))
                json_object_set(o, "output", json_object_get(body, "output"));
        } else
            json_object_set(o, "error",
                            body && json_object_get(body, "error") ? json_object_get(body, "error")
                                                                   : json_string("failed"));
        char *txt = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (txt) {
            amid_msg *m = amid_msg_new(txt, strlen(txt));
            free(txt);
            if (m)
                amid_client_push_ctl(r->client, m);
        }
        r->client->ws_pending--;
    } else if (r->nats_reply) {
        amid_nats_reply(r->nats_reply, status, body);
        free(r->nats_reply);
    }
    json_decref(body);
    json_decref(r->ws_id);
    amid_req_unlink(r);
    free(r);
}

/* Creates the pending request for the caller; the WS variant in ws.c. */
int amid_run_action(amid_token *t, amid_server *s, const json_t *action, amid_req *req, char *why,
                    size_t whycap)
{
    ami_action *a;
    int st = amid_action_from_json(action, &a, why, whycap);
    if (st)
        return st;
    st = amid_perm_check(t, s->conf->name, a, why, whycap);
    if (st) {
        ami_action_free(a);
        return st;
    }
    if (!amid_token_rate_ok(t, amid_now_ms())) {
        ami_action_free(a);
        snprintf(why, whycap, "rate: token '%s' is over its rate", t->name);
        return 429;
    }
    req->srv = s;
    int r = amid_upstream_send(s, a, req);
    ami_action_free(a);
    if (r != 0) {
        if (r == AMI_ERR_STATE)
            snprintf(why, whycap, "server %s is %s", s->conf->name, amid_server_state_name(s));
        else
            snprintf(why, whycap, "%s", ami_strerror(r));
        return amid_status_of(r);
    }
    return 0;
}

static void do_action(struct lws *wsi, pss *p, amid_token *t, amid_server *s, int is_command)
{
    char why[512];
    json_error_t jerr;
    if (p->too_big) {
        snprintf(why, sizeof why, "body over max_body_bytes (%zu)", amid->cfg.max_body_bytes);
        reply_error(wsi, p, 413, why);
        return;
    }
    json_t *body = json_loadb(p->body ? p->body : "", p->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        snprintf(why, sizeof why, "bad JSON: %s", jerr.text);
        reply_error(wsi, p, 400, why);
        return;
    }
    json_t *action = body;
    json_t *cmd = NULL;
    if (is_command) {
        json_t *c = json_object_get(body, "command");
        if (!json_is_string(c)) {
            json_decref(body);
            reply_error(wsi, p, 400, "expected {\"command\": \"...\"}");
            return;
        }
        cmd = json_pack("{s:s, s:O}", "Action", "Command", "Command", c);
        action = cmd;
    }
    amid_req *req = amid_req_new();
    if (!req) {
        json_decref(body);
        json_decref(cmd);
        reply_error(wsi, p, 503, "out of memory");
        return;
    }
    req->wsi = wsi;
    req->is_command = is_command;
    int st = amid_run_action(t, s, action, req, why, sizeof why);
    json_decref(body);
    json_decref(cmd);
    if (st) {
        amid_req_unlink(req);
        free(req);
        reply_error(wsi, p, st, why);
        return;
    }
    p->req = req;
    /* amid's own action timeout bounds the wait, not lws's. */
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
}

/* The state shows calls: it needs the server and the call event class. */
int amid_state_allowed(const amid_token *t, const amid_server *s, char *why, size_t whycap)
{
    if (!amid_perm_server(t, s->conf->name)) {
        snprintf(why, whycap, "servers: token '%s' may not use server '%s'", t->name,
                 s->conf->name);
        return 403;
    }
    if (!(amid_token_event_mask(t) & amid_classes_of("call"))) {
        snprintf(why, whycap, "events: token '%s' lacks the call class the state needs", t->name);
        return 403;
    }
    return 0;
}

static void do_state(struct lws *wsi, pss *p, amid_token *t, amid_server *s)
{
    char why[256];
    if (p->method != M_GET) {
        reply_error(wsi, p, 405, "method not allowed (GET)");
        return;
    }
    int st = amid_state_allowed(t, s, why, sizeof why);
    if (st) {
        reply_error(wsi, p, st, why);
        return;
    }
    if (!s->state_synced) {
        snprintf(why, sizeof why, "the state of %s is not synchronised yet", s->conf->name);
        reply_error(wsi, p, 503, why);
        return;
    }
    char *txt;
    size_t len;
    if (ami_state_to_json(s->st, &txt, &len) != 0) {
        reply_error(wsi, p, 503, "out of memory");
        return;
    }
    reply_text(wsi, p, 200, "application/json", txt, len);
}

/* ---------------------------------------------------------- sessions */

static int cookie_value(struct lws *wsi, char *out, size_t cap)
{
    char buf[2048];
    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_COOKIE) <= 0)
        return -1;
    const char *p = buf;
    while ((p = strstr(p, "amid_session=")) != NULL) {
        if (p == buf || p[-1] == ' ' || p[-1] == ';') {
            p += 13;
            size_t n = strcspn(p, "; ");
            if (n == 0 || n >= cap)
                return -1;
            memcpy(out, p, n);
            out[n] = '\0';
            return 0;
        }
        p++;
    }
    return -1;
}

static amid_session *session_find(const char *id, int *expired)
{
    unsigned char h[32];
    amid_sha256(id, strlen(id), h);
    time_t now = time(NULL);
    *expired = 0;
    for (amid_session *s = amid->sessions; s; s = s->next)
        if (!memcmp(s->id_hash, h, 32)) {
            if (s->expires <= now) {
                *expired = 1;
                return NULL;
            }
            return s;
        }
    return NULL;
}

static void sessions_purge(void)
{
    time_t now = time(NULL);
    amid_session **pp = &amid->sessions;
    while (*pp) {
        if ((*pp)->expires <= now) {
            amid_session *d = *pp;
            *pp = d->next;
            free(d);
            amid->n_sessions--;
        } else
            pp = &(*pp)->next;
    }
}

static amid_token *token_by_hash(const unsigned char h[32])
{
    for (size_t i = 0; i < amid->cfg.n_tokens; i++)
        if (!memcmp(amid->cfg.tokens[i].hash, h, 32))
            return &amid->cfg.tokens[i];
    return NULL;
}

int amid_origin_ok(struct lws *wsi, int *has_origin)
{
    char origin[256], host[256], own[300];
    *has_origin = 0;
    int n = lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    if (n == 0 && !lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN))
        return 1;
    *has_origin = 1;
    if (n <= 0)
        return 0;
    for (size_t i = 0; i < amid->cfg.origins.n; i++)
        if (!strcmp(origin, amid->cfg.origins.v[i]))
            return 1;
    /* The panel's own origin: the scheme and Host this request came to. */
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) > 0) {
        snprintf(own, sizeof own, "%s://%s", lws_is_ssl(wsi) ? "https" : "http", host);
        if (!strcmp(origin, own))
            return 1;
    }
    return 0;
}

/* A browser's same-origin GET carries no Origin, but `Sec-Fetch-Site:
 * same-origin`, a header page scripts cannot set; with the SameSite=Strict
 * cookie that is as good as an Origin of our own (the panel's GET
 * /v1/session and /v1/servers need it). */
static int same_origin_fetch(struct lws *wsi)
{
    char v[32];
    int n = lws_hdr_custom_copy(wsi, v, sizeof v, "sec-fetch-site:", 15);
    return n > 0 && !strcmp(v, "same-origin");
}

int amid_auth(struct lws *wsi, amid_token **tok, char *why, size_t whycap)
{
    int has_origin;
    *tok = NULL;
    if (!amid_origin_ok(wsi, &has_origin)) {
        snprintf(why, whycap, "origins: this Origin is not allowed");
        return 403;
    }
    char auth[1024];
    int n = lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 0) {
        if (strncasecmp(auth, "Bearer ", 7) != 0) {
            snprintf(why, whycap, "Authorization: expected Bearer TOKEN");
            return 401;
        }
        const char *t = auth + 7;
        while (*t == ' ')
            t++;
        *tok = amid_token_find(amid->cfg.tokens, amid->cfg.n_tokens, t, strlen(t));
        memset(auth, 0, sizeof auth);
        if (!*tok) {
            snprintf(why, whycap, "unknown token");
            return 401;
        }
        return 0;
    }
    char sid[128];
    if (cookie_value(wsi, sid, sizeof sid) == 0) {
        if (!has_origin && !same_origin_fetch(wsi)) {
            snprintf(why, whycap,
                     "a session cookie is accepted from browsers only (with Origin); "
                     "send Authorization: Bearer TOKEN");
            return 401;
        }
        int expired;
        amid_session *s = session_find(sid, &expired);
        if (!s) {
            snprintf(why, whycap, expired ? "session expired" : "unknown session");
            return 401;
        }
        *tok = token_by_hash(s->token_hash);
        if (!*tok) {
            snprintf(why, whycap, "the session's token was revoked");
            return 401;
        }
        return 0;
    }
    snprintf(why, whycap, "no token: send Authorization: Bearer TOKEN");
    return 401;
}

static void do_session(struct lws *wsi, pss *p)
{
    char why[256];
    if (p->method == M_DELETE) {
        char sid[128];
        int expired;
        if (cookie_value(wsi, sid, sizeof sid) == 0) {
            amid_session *s = session_find(sid, &expired);
            if (s)
                s->expires = 0;
            sessions_purge();
        }
        snprintf(p->cookie, sizeof p->cookie,
                 "amid_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                 lws_is_ssl(wsi) ? "; Secure" : "");
        reply_json(wsi, p, 200, json_pack("{s:b}", "logged_out", 1));
        return;
    }
    amid_token *t = NULL;
    if (p->method == M_GET) {
        int st = amid_auth(wsi, &t, why, sizeof why);
        if (st)
            reply_error(wsi, p, st, why);
        else
            reply_json(wsi, p, 200, token_json(t));
        return;
    }
    int has_origin;
    if (!amid_origin_ok(wsi, &has_origin)) {
        reply_error(wsi, p, 403, "origins: this Origin is not allowed");
        return;
    }
    /* The token comes in the body ({"token": "..."}) or as a bearer. */
    json_t *body = p->body_len ? json_loadb(p->body, p->body_len, 0, NULL) : NULL;
    const char *presented = body ? json_string_value(json_object_get(body, "token")) : NULL;
    if (presented)
        t = amid_token_find(amid->cfg.tokens, amid->cfg.n_tokens, presented, strlen(presented));
    else {
        int st = amid_auth(wsi, &t, why, sizeof why);
        if (st)
            t = NULL;
    }
    json_decref(body);
    if (!t) {
        reply_error(wsi, p, 401, "unknown token");
        return;
    }
    sessions_purge();
    if (amid->n_sessions >= 10000) {
        reply_error(wsi, p, 503, "too many sessions");
        return;
    }
    amid_session *s = calloc(1, sizeof *s);
    char sid[65];
    if (!s || amid_random_hex(sid, 32) != 0) {
        free(s);
        reply_error(wsi, p, 503, "out of memory");
        return;
    }
    amid_sha256(sid, 64, s->id_hash);
    memcpy(s->token_hash, t->hash, 32);
    s->expires = time(NULL) + amid->cfg.session_ttl_s;
    s->next = amid->sessions;
    amid->sessions = s;
    amid->n_sessions++;
    snprintf(p->cookie, sizeof p->cookie,
             "amid_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", sid,
             amid->cfg.session_ttl_s, lws_is_ssl(wsi) ? "; Secure" : "");
    json_t *o = token_json(t);
    json_object_set_new(o, "expires_in", json_integer(amid->cfg.session_ttl_s));
    reply_json(wsi, p, 200, o);
}

/* ------------------------------------------------------------ static */

static const char *mime_of(const char *path)
{
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (!strcasecmp(dot, map[i][0]))
                return map[i][1];
    return "application/octet-stream";
}

static int serve_static(struct lws *wsi, pss *p)
{
    if (!amid->cfg.static_dir) {
        reply_error(wsi, p, 404, "not found");
        return 0;
    }
    const char *path = p->path;
    /* lws has decoded %XX already; refuse anything that could climb out
     * or smuggle bytes, then check the resolved path is inside. */
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == '\\' || (unsigned char)*c >= 0x7f) {
            reply_error(wsi, p, 400, "bad path");
            return 0;
        }
    if (strstr(path, "..") || path[0] != '/') {
        reply_error(wsi, p, 404, "not found");
        return 0;
    }
    char want[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
    int n = snprintf(want, sizeof want, "%s%s%s", amid->cfg.static_dir, path,
                     path[strlen(path) - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof want || !realpath(amid->cfg.static_dir, root) ||
        !realpath(want, real)) {
        reply_error(wsi, p, 404, "not found");
        return 0;
    }
    size_t rl = strlen(root);
    if (strncmp(real, root, rl) != 0 || real[rl] != '/') {
        reply_error(wsi, p, 404, "not found");
        return 0;
    }
    count_status(200);
    int r = lws_serve_http_file(wsi, real, mime_of(real), NULL, 0);
    if (r < 0)
        return -1;
    if (r > 0)
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    return 0;
}

/* ------------------------------------------------------------ routing */

static int route(struct lws *wsi, pss *p)
{
    char why[512];
    const char *path = p->path;
    if (!strcmp(path, "/healthz")) {
        size_t up = 0;
        for (size_t i = 0; i < amid->n_servers; i++)
            up += amid->servers[i].state == AMI_ASYNC_UP;
        reply_json(wsi, p, 200,
                   json_pack("{s:s, s:i, s:i, s:s}", "status", amid->draining ? "draining" : "ok",
                             "servers", (int)amid->n_servers, "servers_up", (int)up, "epoch",
                             amid->epoch));
        return 0;
    }
    if (!strcmp(path, "/metrics")) {
        size_t n;
        char *txt = amid_metrics_text(&n);
        if (!txt)
            reply_error(wsi, p, 503, "out of memory");
        else
            reply_text(wsi, p, 200, "text/plain; version=0.0.4", txt, n);
        return 0;
    }
    if (strncmp(path, "/v1/", 4) != 0) {
        if (p->method != M_GET) {
            reply_error(wsi, p, 405, "method not allowed");
            return 0;
        }
        return serve_static(wsi, p);
    }
    if (!strcmp(path, "/v1/session")) {
        do_session(wsi, p);
        return 0;
    }
    if (amid->draining) {
        reply_error(wsi, p, 503, "amid is shutting down");
        return 0;
    }
    amid_token *t;
    int st = amid_auth(wsi, &t, why, sizeof why);
    if (st) {
        reply_error(wsi, p, st, why);
        return 0;
    }
    if (!strcmp(path, "/v1/servers")) {
        if (p->method != M_GET)
            reply_error(wsi, p, 405, "method not allowed");
        else
            reply_json(wsi, p, 200, servers_json(t));
        return 0;
    }
    if (!strncmp(path, "/v1/servers/", 12)) {
        const char *name = path + 12;
        const char *slash = strchr(name, '/');
        char sname[80];
        if (!slash || (size_t)(slash - name) >= sizeof sname) {
            reply_error(wsi, p, 404, "not found");
            return 0;
        }
        memcpy(sname, name, (size_t)(slash - name));
        sname[slash - name] = '\0';
        amid_server *s = amid_server_find(sname);
        if (!s) {
            snprintf(why, sizeof why, "no server '%.64s'", sname);
            reply_error(wsi, p, 404, why);
            return 0;
        }
        int is_cmd = !strcmp(slash, "/command");
        if (!strcmp(slash, "/state")) {
            do_state(wsi, p, t, s);
            return 0;
        }
        if (strcmp(slash, "/actions") && !is_cmd) {
            reply_error(wsi, p, 404, "not found");
            return 0;
        }
        if (p->method != M_POST) {
            reply_error(wsi, p, 405, "method not allowed (POST)");
            return 0;
        }
        if (!amid_perm_server(t, sname)) {
            snprintf(why, sizeof why, "servers: token '%s' may not use server '%.64s'", t->name,
                     sname);
            reply_error(wsi, p, 403, why);
            return 0;
        }
        do_action(wsi, p, t, s, is_cmd);
        return 0;
    }
    reply_error(wsi, p, 404, "not found");
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        /* A keep-alive connection reuses the area: free the last body. */
        free(p->body);
        free(p->resp);
        memset(p, 0, sizeof *p);
        snprintf(p->path, sizeof p->path, "%s", (const char *)in);
        p->method = method_of(wsi);
        if (p->method == M_OTHER) {
            p->close_after = 1;
            reply_error(wsi, p, 405, "method not allowed");
            return 0;
        }
        if (p->method == M_POST) {
            char cl[32];
            if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
                strtoull(cl, NULL, 10) > amid->cfg.max_body_bytes) {
                /* Refused before reading it; the connection closes since
                 * the body is never read. */
                p->close_after = 1;
                char why[128];
                snprintf(why, sizeof why, "body over max_body_bytes (%zu)",
                         amid->cfg.max_body_bytes);
                reply_error(wsi, p, 413, why);
                return 0;
            }
            return 0; /* wait for the body */
        }
        return route(wsi, p);
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (p->ready || p->too_big)
            return 0;
        if (p->body_len + len > amid->cfg.max_body_bytes) {
            p->too_big = 1;
            free(p->body);
            p->body = NULL;
            p->body_len = 0;
            return 0;
        }
        {
            char *nb = realloc(p->body, p->body_len + len + 1);
            if (!nb)
                return -1;
            p->body = nb;
            memcpy(p->body + p->body_len, in, len);
            p->body_len += len;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (p->ready)
            return 0;
        if (p->too_big) {
            char why[128];
            snprintf(why, sizeof why, "body over max_body_bytes (%zu)", amid->cfg.max_body_bytes);
            reply_error(wsi, p, 413, why);
            return 0;
        }
        return route(wsi, p);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (p->ready)
            return write_reply(wsi, p);
        return 0;
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (p && !p->is_ws) {
            if (p->req)
                p->req->wsi = NULL; /* the answer, when it comes, goes nowhere */
            p->req = NULL;
            free(p->body);
            p->body = NULL;
            free(p->resp);
            p->resp = NULL;
        }
        return 0;
    default:
        break;
    }
    return amid_ws_callback(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"amid", callback, sizeof(pss), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int amid_http_start(void)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {amid->loop};
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE |
                   LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    info.port = (int)amid->cfg.listen_port;
    info.iface = amid->cfg.listen_host;
    info.protocols = protocols;
    info.pcontext = &amid->lws;
    info.max_http_header_data = 8192;
    info.max_http_header_pool = 256;
    info.timeout_secs = 10;
    info.timeout_secs_ah_idle = 10;
    info.keepalive_timeout = 10;
    info.fd_limit_per_thread = (unsigned)amid->cfg.max_clients + 64;
    info.server_string = "amid";
    if (amid->cfg.tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = amid->cfg.tls_cert;
        info.ssl_private_key_filepath = amid->cfg.tls_key;
    }
    lws_set_log_level(getenv("AMID_LWS_LOG") ? atoi(getenv("AMID_LWS_LOG")) : LLL_ERR, NULL);
    amid->lws = lws_create_context(&info);
    if (!amid->lws)
        return -1;
    struct lws_vhost *vh = lws_get_vhost_by_name(amid->lws, "default");
    amid->listen_port = vh ? lws_get_vhost_listen_port(vh) : (int)amid->cfg.listen_port;
    return 0;
}

void amid_http_stop(void)
{
    if (amid->lws)
        lws_context_destroy(amid->lws);
}
