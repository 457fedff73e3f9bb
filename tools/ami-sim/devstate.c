/*
 * Device states: every change is a DeviceStateChange event (call class);
 * the states a real server caches (queues, parking spaces, MWI) are kept
 * for DeviceStateList. Local/ devices are derived from their channels and
 * never cached, so they never appear in the list (as in busy_snapshot.raw).
 */
#include "pbx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void cache(sim *s, const char *device, const char *state)
{
    sim_devstate **pp = &s->pbx->devstates;
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->device, device) == 0) {
            snprintf((*pp)->state, sizeof(*pp)->state, "%s", state);
            return;
        }
    }
    sim_devstate *d = sim_xmalloc(sizeof *d);
    memset(d, 0, sizeof *d);
    snprintf(d->device, sizeof d->device, "%s", device);
    snprintf(d->state, sizeof d->state, "%s", state);
    *pp = d; /* appended: the list comes out in the order devices appeared */
}

void sim_devstate_set(sim *s, const char *device, const char *state)
{
    sim_buf b = {0};
    sim_buf_puts(&b, "Event: DeviceStateChange\r\nPrivilege: call,all\r\n");
    sim_hdr(&b, "Device", device);
    sim_hdr(&b, "State", state);
    sim_buf_append(&b, "\r\n", 2);
    sim_broadcast(s, SIM_CALL, b.data, b.len);
    sim_buf_free(&b);
    if (strncasecmp(device, "Local/", 6) != 0)
        cache(s, device, state);
}

void sim_devstate_init(sim *s)
{
    /* The capture server's voicemail boxes, and each queue's devices as a
     * server that has been up a while has them cached. */
    cache(s, "MWI:1234@devices@myaliases", "NOT_INUSE");
    cache(s, "MWI:1234@other", "NOT_INUSE");
    cache(s, "MWI:1234@default", "NOT_INUSE");
    for (const sim_queue *q = s->pbx->queues; q; q = q->next) {
        char dev[256];
        snprintf(dev, sizeof dev, "Queue:%s", q->name);
        cache(s, dev, "NOT_INUSE");
        int avail = 0;
        for (const sim_qmember *m = q->members; m; m = m->next) {
            snprintf(dev, sizeof dev, "Queue:%s_pause_%s", q->name, m->iface);
            cache(s, dev, m->paused ? "INUSE" : "NOT_INUSE");
            avail |= !m->paused;
        }
        snprintf(dev, sizeof dev, "Queue:%s_avail", q->name);
        cache(s, dev, avail ? "NOT_INUSE" : "INUSE");
    }
}

void sim_devstate_free(sim *s)
{
    while (s->pbx->devstates) {
        sim_devstate *d = s->pbx->devstates;
        s->pbx->devstates = d->next;
        free(d);
    }
}

void sim_action_devicestatelist(sim_conn *c, const ami_packet *p, const char *id)
{
    (void)p;
    sim_send_list_start(c, id, "Device State Changes will follow");
    sim_buf b = {0};
    size_t n = 0;
    for (const sim_devstate *d = c->sim->pbx->devstates; d; d = d->next, n++) {
        sim_buf_puts(&b, "Event: DeviceStateChange\r\n");
        if (id)
            sim_hdr(&b, "ActionID", id);
        sim_hdr(&b, "Device", d->device);
        sim_hdr(&b, "State", d->state);
        sim_buf_append(&b, "\r\n", 2);
    }
    sim_buf_puts(&b, "Event: DeviceStateListComplete\r\n");
    if (id)
        sim_hdr(&b, "ActionID", id);
    sim_buf_printf(&b, "EventList: Complete\r\nListItems: %zu\r\n\r\n", n);
    sim_conn_send(c, b.data, b.len);
    sim_buf_free(&b);
}
