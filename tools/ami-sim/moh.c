/*
 * Hold music: MusicOnHoldStart (with Class) and MusicOnHoldStop, for
 * queue callers, parked calls and the `moh` extension, as in
 * queue_callcenter.raw and park_hold.raw. A channel's hold state is kept
 * by Uniqueid so that a stop is sent once, and only after a start.
 */
#include "pbx.h"

#include <stdlib.h>
#include <string.h>

static size_t find(const sim *s, const sim_chan *ch)
{
    for (size_t i = 0; i < s->pbx->moh_n; i++)
        if (strcmp(s->pbx->moh_chans[i], ch->uniqueid) == 0)
            return i;
    return (size_t)-1;
}

int sim_moh_on(const sim *s, const sim_chan *ch)
{
    return find(s, ch) != (size_t)-1;
}

void sim_moh_start(sim *s, sim_chan *ch, const char *cls)
{
    if (sim_moh_on(s, ch))
        return;
    sim_pbx *x = s->pbx;
    x->moh_chans = sim_xrealloc(x->moh_chans, (x->moh_n + 1) * sizeof *x->moh_chans);
    x->moh_chans[x->moh_n++] = sim_xstrdup(ch->uniqueid);
    sim_buf e = {0};
    sim_hdr(&e, "Class", cls);
    sim_chan_event(s, SIM_CALL, "MusicOnHoldStart", ch, e.data);
    sim_buf_free(&e);
}

void sim_moh_stop(sim *s, sim_chan *ch)
{
    size_t i = find(s, ch);
    if (i == (size_t)-1)
        return;
    sim_pbx *x = s->pbx;
    free(x->moh_chans[i]);
    x->moh_chans[i] = x->moh_chans[--x->moh_n];
    sim_chan_event(s, SIM_CALL, "MusicOnHoldStop", ch, NULL);
}

void sim_moh_free(sim *s)
{
    for (size_t i = 0; i < s->pbx->moh_n; i++)
        free(s->pbx->moh_chans[i]);
    free(s->pbx->moh_chans);
    s->pbx->moh_chans = NULL;
    s->pbx->moh_n = 0;
}
