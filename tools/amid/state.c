/* The live state of each server: an ami_state store kept in step by the
 * state link over the server's ami_async handle (amid feeds it every
 * event and state change from its own callbacks), served whole by
 * GET /v1/servers/{name}/state and as a stream by /v1/state: a snapshot,
 * then each change (encoded once, shared by every state client), a gap
 * notice when the PBX connection was lost, and a fresh snapshot once the
 * store has resynchronised or when a client fell behind. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"channel", "bridge", "queue", "member",
                                         "caller",  "parked", "device"};
static const char *const change_names[] = {"added", "changed", "removed"};

static void broadcast(amid_server *s, amid_msg *m)
{
    for (amid_client *c = s->state_clients; c; c = c->state_next) {
        if (c->closing || c->need_snapshot)
            continue; /* the coming snapshot will include it */
        if (amid_client_queue_append(c, m) != 0) {
            amid_client_drop_all(c);
            c->need_snapshot = 1;
        }
    }
}

static void on_change(ami_state *st, ami_state_kind kind, ami_state_change change,
                      const ami_state_object *old, const ami_state_object *now, void *ud)
{
    (void)st;
    amid_server *s = ud;
    amid_nats_kv_changed(s, kind, change, old, now);
    if (!s->state_clients)
        return;
    const ami_state_object *o = now ? now : old;
    json_t *msg = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "change", "server", s->conf->name,
                            "kind", kind < AMI_STATE_KIND_COUNT ? kind_names[kind] : "?", "change",
                            change_names[change], "id", ami_state_object_id(o));
    if (!msg)
        return;
    json_t *obj = json_null();
    char *txt;
    size_t len;
    if (now && ami_state_object_to_json(now, &txt, &len) == 0) {
        json_t *j = json_loadb(txt, len, 0, NULL);
        free(txt);
        if (j)
            obj = j;
    }
    json_object_set_new(msg, "object", obj);
    char *out = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!out)
        return;
    amid_msg *m = amid_msg_new(out, strlen(out));
    free(out);
    if (m) {
        broadcast(s, m);
        amid_msg_unref(m);
    }
}

static void on_synced(ami_state_link *l, int synced, int error, void *ud)
{
    (void)l;
    amid_server *s = ud;
    if (!synced) {
        amid_warn("state resync failed", "server=%s error=\"%s\"", s->conf->name,
                  ami_strerror(error));
        return;
    }
    s->state_synced = 1;
    amid_info("state synced", "server=%s", s->conf->name);
    amid_nats_kv_resynced(s);
    for (amid_client *c = s->state_clients; c; c = c->state_next) {
        amid_client_drop_all(c);
        c->drops--; /* not the client's fault */
        amid->ws_drops--;
        c->behind_since_ms = 0;
        c->need_snapshot = 1;
    }
}

int amid_state_start(amid_server *s)
{
    if (ami_state_create(&s->st) != 0)
        return -1;
    ami_state_set_change_cb(s->st, on_change, s);
    if (ami_state_link_create(&s->link, s->st, s->a, s->conf->action_timeout_ms) != 0)
        return -1;
    ami_state_link_set_synced_cb(s->link, on_synced, s);
    return 0;
}

void amid_state_stop(amid_server *s)
{
    ami_state_link_free(s->link);
    s->link = NULL;
    ami_state_free(s->st);
    s->st = NULL;
}

void amid_state_on_event(amid_server *s, const ami_packet *p)
{
    if (s->link)
        ami_state_async_on_event(s->link, p);
}

void amid_state_on_state(amid_server *s, ami_async_state st)
{
    if (s->link)
        ami_state_async_on_state(s->link, st);
}

amid_msg *amid_state_snapshot_msg(amid_server *s)
{
    char *txt;
    size_t len;
    if (!s->st || ami_state_to_json(s->st, &txt, &len) != 0)
        return NULL;
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "{\"type\":\"snapshot\",\"server\":\"%s\",\"epoch\":\"%s\",\"synced\":%s,"
                      "\"state\":",
                      s->conf->name, amid->epoch, s->state_synced ? "true" : "false");
    size_t total = (size_t)hn + len + 1;
    char *buf = malloc(total + 1);
    if (!buf) {
        free(txt);
        return NULL;
    }
    /* Server names and the epoch are plain ASCII (checked in config.c). */
    memcpy(buf, head, (size_t)hn);
    memcpy(buf + hn, txt, len);
    buf[total - 1] = '}';
    free(txt);
    amid_msg *m = amid_msg_new(buf, total);
    free(buf);
    return m;
}

void amid_state_attach(amid_client *c, amid_server *s)
{
    c->state_srv = s;
    c->state_next = s->state_clients;
    if (s->state_clients)
        s->state_clients->state_prev = c;
    s->state_clients = c;
    c->need_snapshot = s->state_synced;
    if (c->need_snapshot && c->wsi)
        lws_callback_on_writable(c->wsi);
}

void amid_state_detach(amid_client *c)
{
    amid_server *s = c->state_srv;
    if (!s)
        return;
    if (c->state_prev)
        c->state_prev->state_next = c->state_next;
    else
        s->state_clients = c->state_next;
    if (c->state_next)
        c->state_next->state_prev = c->state_prev;
    c->state_srv = NULL;
}
