/* EventList actions over the live channels: CoreShowChannels and Status.
 * ActionID placement follows the captures: second in CoreShowChannel,
 * last in Status. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void complete(sim_buf *b, const char *event, const char *id, int n, int with_items)
{
    sim_buf_printf(b, "Event: %s\r\n", event);
    if (id)
        sim_hdr(b, "ActionID", id);
    sim_buf_printf(b, "EventList: Complete\r\nListItems: %d\r\n", n);
    if (with_items)
        sim_buf_printf(b, "Items: %d\r\n", n);
    sim_buf_append(b, "\r\n", 2);
}

void sim_action_coreshowchannels(sim_conn *c, const ami_packet *p, const char *id)
{
    (void)p;
    uint64_t now = sim_now_ms();
    sim_send_list_start(c, id, "Channels will follow");
    sim_buf b = {0};
    int n = 0;
    for (const sim_chan *ch = c->sim->chans; ch; ch = ch->next, n++) {
        char dur[32];
        sim_chan_duration(ch, now, dur, sizeof dur);
        sim_buf_puts(&b, "Event: CoreShowChannel\r\n");
        if (id)
            sim_hdr(&b, "ActionID", id);
        sim_chan_headers(&b, "", ch);
        sim_hdr(&b, "Application", ch->app);
        sim_hdr(&b, "ApplicationData", ch->appdata);
        sim_hdr(&b, "Duration", dur);
        sim_hdr(&b, "BridgeId", ch->bridge);
        sim_buf_append(&b, "\r\n", 2);
    }
    complete(&b, "CoreShowChannelsComplete", id, n, 0);
    sim_conn_send(c, b.data, b.len);
    sim_buf_free(&b);
}

static void status_vars(sim_buf *b, sim *s, const sim_chan *ch, const char *vars)
{
    char *list = sim_xstrdup(vars);
    char *save = NULL;
    for (char *v = strtok_r(list, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
        while (*v == ' ')
            v++;
        const char *val;
        if (strcmp(v, "CHANNEL") == 0)
            val = ch->name;
        else if (strcmp(v, "UNIQUEID") == 0)
            val = ch->uniqueid;
        else if (!(val = sim_var_get(ch->vars, v)))
            val = sim_var_get(s->globals, v);
        sim_buf_printf(b, "Variable: %s=%s\r\n", v, val ? val : "(null)");
    }
    free(list);
}

static void status_event(sim_buf *b, sim *s, const sim_chan *ch, const char *id, const char *vars,
                         uint64_t now)
{
    char type[32];
    const char *slash = strchr(ch->name, '/');
    snprintf(type, sizeof type, "%.*s", slash ? (int)(slash - ch->name) : 0, ch->name);
    sim_buf_puts(b, "Event: Status\r\nPrivilege: Call\r\n");
    sim_chan_headers(b, "", ch);
    sim_hdr(b, "Type", type);
    sim_buf_puts(b, "DNID: \r\n");
    sim_hdr(b, "EffectiveConnectedLineNum", ch->conn_num);
    sim_hdr(b, "EffectiveConnectedLineName", ch->conn_name);
    sim_buf_puts(b, "TimeToHangup: 0\r\n");
    sim_hdr(b, "BridgeID", ch->bridge);
    sim_hdr(b, "Application", ch->app);
    sim_hdr(b, "Data", ch->appdata);
    sim_buf_puts(b, "Nativeformats: (slin)\r\nReadformat: slin\r\nReadtrans: \r\n"
                    "Writeformat: slin\r\nWritetrans: \r\nCallgroup: 0\r\nPickupgroup: 0\r\n");
    sim_buf_printf(b, "Seconds: %u\r\n", (unsigned)((now - ch->created_ms) / 1000u));
    if (vars && *vars)
        status_vars(b, s, ch, vars);
    if (id)
        sim_hdr(b, "ActionID", id);
    sim_buf_append(b, "\r\n", 2);
}

void sim_action_status(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *chan = ami_packet_get(p, "Channel");
    const char *vars = ami_packet_get(p, "Variables");
    uint64_t now = sim_now_ms();
    if (chan && *chan && !sim_chan_find(c->sim, chan)) {
        sim_send_error(c, id, "No such channel");
        return;
    }
    sim_send_list_start(c, id, "Channel status will follow");
    sim_buf b = {0};
    int n = 0;
    for (const sim_chan *ch = c->sim->chans; ch; ch = ch->next) {
        if (chan && *chan && strcmp(chan, ch->name) != 0)
            continue;
        status_event(&b, c->sim, ch, id, vars, now);
        n++;
    }
    complete(&b, "StatusComplete", id, n, 1);
    sim_conn_send(c, b.data, b.len);
    sim_buf_free(&b);
}
