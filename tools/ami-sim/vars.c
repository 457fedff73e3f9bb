/* Variables (globals and channel variables), Getvar and Setvar. */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

const char *sim_var_get(sim_var *list, const char *name)
{
    for (sim_var *v = list; v; v = v->next)
        if (strcmp(v->name, name) == 0)
            return v->value;
    return NULL;
}

void sim_var_set(sim_var **list, const char *name, const char *value)
{
    for (sim_var *v = *list; v; v = v->next) {
        if (strcmp(v->name, name) == 0) {
            free(v->value);
            v->value = sim_xstrdup(value);
            return;
        }
    }
    sim_var *v = sim_xmalloc(sizeof *v);
    v->name = sim_xstrdup(name);
    v->value = sim_xstrdup(value);
    v->next = *list;
    *list = v;
}

void sim_vars_free(sim_var **list)
{
    while (*list) {
        sim_var *v = *list;
        *list = v->next;
        free(v->name);
        free(v->value);
        free(v);
    }
}

static const char *chan_var(sim *s, const sim_chan *ch, const char *name)
{
    if (strcmp(name, "CHANNEL") == 0)
        return ch->name;
    if (strcmp(name, "UNIQUEID") == 0)
        return ch->uniqueid;
    const char *v = sim_var_get(ch->vars, name);
    return v ? v : sim_var_get(s->globals, name);
}

void sim_action_getvar(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *var = ami_packet_get(p, "Variable");
    const char *chan = ami_packet_get(p, "Channel");
    if (!var || !*var) {
        sim_send_error(c, id, "No variable specified");
        return;
    }
    const char *val;
    if (chan && *chan) {
        sim_chan *ch = sim_chan_find(c->sim, chan);
        if (!ch) {
            sim_send_error(c, id, "No such channel");
            return;
        }
        val = chan_var(c->sim, ch, var);
    } else {
        val = sim_var_get(c->sim->globals, var);
    }
    sim_buf b = {0};
    sim_resp_start(&b, "Success", id);
    sim_hdr(&b, "Variable", var);
    sim_hdr(&b, "Value", val ? val : "");
    sim_buf_append(&b, "\r\n", 2);
    sim_conn_send_response(c, &b);
    sim_buf_free(&b);
}

void sim_action_setvar(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *var = ami_packet_get(p, "Variable");
    const char *chan = ami_packet_get(p, "Channel");
    const char *val = ami_packet_get(p, "Value");
    if (!val)
        val = "";
    if (!var || !*var) {
        sim_send_error(c, id, "No variable specified");
        return;
    }
    if (chan && *chan) {
        sim_chan *ch = sim_chan_find(c->sim, chan);
        if (!ch) {
            sim_send_error(c, id, "No such channel");
            return;
        }
        sim_send_ack(c, id, "Variable Set");
        sim_chan_setvar(c->sim, ch, var, val);
        return;
    }
    sim_var_set(&c->sim->globals, var, val);
    sim_send_ack(c, id, "Variable Set");
    sim_buf b = {0};
    sim_buf_puts(&b, "Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: none\r\n"
                     "Uniqueid: none\r\n");
    sim_hdr(&b, "Variable", var);
    sim_hdr(&b, "Value", val);
    sim_buf_append(&b, "\r\n", 2);
    sim_broadcast(c->sim, SIM_DIALPLAN, b.data, b.len);
    sim_buf_free(&b);
}
