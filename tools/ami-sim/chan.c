/* Simulated channels: names, Uniqueids and the standard channel headers
 * that Asterisk puts in every channel event. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sim_chan *sim_chan_new(sim *s, const char *name, const char *linkedid)
{
    sim_chan *ch = sim_xmalloc(sizeof *ch);
    memset(ch, 0, sizeof *ch);
    snprintf(ch->name, sizeof ch->name, "%s", name);
    /* Asterisk's Uniqueid is "<startup epoch>.<counter>". */
    snprintf(ch->uniqueid, sizeof ch->uniqueid, "%ld.%u", (long)s->start_wall, s->uniq_seq++);
    snprintf(ch->linkedid, sizeof ch->linkedid, "%s", linkedid ? linkedid : ch->uniqueid);
    snprintf(ch->cid_num, sizeof ch->cid_num, "<unknown>");
    snprintf(ch->cid_name, sizeof ch->cid_name, "<unknown>");
    snprintf(ch->conn_num, sizeof ch->conn_num, "<unknown>");
    snprintf(ch->conn_name, sizeof ch->conn_name, "<unknown>");
    ch->priority = 1;
    ch->created_ms = sim_now_ms();
    ch->created_wall = time(NULL);
    /* Newest first, as "core show channels" lists them. */
    ch->next = s->chans;
    s->chans = ch;
    return ch;
}

void sim_chan_free(sim *s, sim_chan *ch)
{
    for (sim_chan **pp = &s->chans; *pp; pp = &(*pp)->next) {
        if (*pp == ch) {
            *pp = ch->next;
            break;
        }
    }
    sim_vars_free(&ch->vars);
    free(ch);
}

sim_chan *sim_chan_find(sim *s, const char *name)
{
    for (sim_chan *ch = s->chans; ch; ch = ch->next)
        if (strcmp(ch->name, name) == 0)
            return ch;
    return NULL;
}

size_t sim_chan_count(const sim *s)
{
    size_t n = 0;
    for (const sim_chan *ch = s->chans; ch; ch = ch->next)
        n++;
    return n;
}

const char *sim_state_desc(int state)
{
    switch (state) {
    case 0:
        return "Down";
    case 4:
        return "Ring";
    case 5:
        return "Ringing";
    case 6:
        return "Up";
    default:
        return "Unknown";
    }
}

void sim_chan_headers(sim_buf *b, const char *prefix, const sim_chan *ch)
{
    sim_buf_printf(b,
                   "%sChannel: %s\r\n%sChannelState: %d\r\n%sChannelStateDesc: %s\r\n"
                   "%sCallerIDNum: %s\r\n%sCallerIDName: %s\r\n"
                   "%sConnectedLineNum: %s\r\n%sConnectedLineName: %s\r\n"
                   "%sLanguage: en\r\n%sAccountCode: \r\n%sContext: %s\r\n%sExten: %s\r\n"
                   "%sPriority: %d\r\n%sUniqueid: %s\r\n%sLinkedid: %s\r\n",
                   prefix, ch->name, prefix, ch->state, prefix, sim_state_desc(ch->state), prefix,
                   ch->cid_num, prefix, ch->cid_name, prefix, ch->conn_num, prefix, ch->conn_name,
                   prefix, prefix, prefix, ch->context, prefix, ch->exten, prefix, ch->priority,
                   prefix, ch->uniqueid, prefix, ch->linkedid);
}

void sim_chan_duration(const sim_chan *ch, uint64_t now, char *buf, size_t n)
{
    uint64_t secs = (now - ch->created_ms) / 1000u;
    snprintf(buf, n, "%02u:%02u:%02u", (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
             (unsigned)(secs % 60));
}

void sim_chan_event(sim *s, int cls, const char *name, const sim_chan *ch, const char *extra)
{
    char priv[64];
    sim_perm_str(cls, priv, sizeof priv);
    sim_buf b = {0};
    sim_buf_printf(&b, "Event: %s\r\nPrivilege: %s\r\n", name, priv);
    sim_chan_headers(&b, "", ch);
    if (extra)
        sim_buf_puts(&b, extra);
    sim_buf_append(&b, "\r\n", 2);
    sim_broadcast(s, cls, b.data, b.len);
    sim_buf_free(&b);
}

void sim_chan_setvar(sim *s, sim_chan *ch, const char *name, const char *value)
{
    sim_var_set(&ch->vars, name, value);
    sim_buf x = {0};
    sim_hdr(&x, "Variable", name);
    sim_hdr(&x, "Value", value);
    sim_chan_event(s, SIM_DIALPLAN, "VarSet", ch, x.data);
    sim_buf_free(&x);
}
