/*
 * --replay FILE: serve a recorded server byte stream (a fixture .raw).
 * The recording is cut into units, each a response plus the events that
 * followed it up to the next response. Every client action is answered by
 * the next unit, with the recorded ActionID swapped for the client's (in
 * the response and in the events that carried it: list items,
 * OriginateResponse). After the last unit the connection closes, as the
 * recorded server did.
 */
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int starts_with(const char *p, size_t n, const char *prefix)
{
    size_t l = strlen(prefix);
    return n >= l && memcmp(p, prefix, l) == 0;
}

int sim_replay_load(sim *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ami-sim: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    sim_buf all = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        sim_buf_append(&all, tmp, n);
    fclose(f);
    const char *d = all.data;
    size_t len = all.len;
    const char *nl = d ? memchr(d, '\n', len) : NULL;
    if (!nl) {
        fprintf(stderr, "ami-sim: %s has no banner line\n", path);
        sim_buf_free(&all);
        return -1;
    }
    size_t pos = (size_t)(nl - d) + 1;
    sim_buf prelude = {0};
    sim_buf_append(&prelude, d, pos);
    sim_buf cur = {0};
    int have_unit = 0;
    while (pos < len) {
        const char *end = NULL;
        for (size_t i = pos; i + 3 < len; i++) {
            if (memcmp(d + i, "\r\n\r\n", 4) == 0) {
                end = d + i + 4;
                break;
            }
        }
        size_t plen = end ? (size_t)(end - (d + pos)) : len - pos;
        if (starts_with(d + pos, plen, "Response:")) {
            if (have_unit) {
                s->replay = sim_xrealloc(s->replay, (s->replay_count + 1) * sizeof *s->replay);
                s->replay[s->replay_count].data = cur.data;
                s->replay[s->replay_count].len = cur.len;
                s->replay_count++;
                memset(&cur, 0, sizeof cur);
            }
            have_unit = 1;
        }
        sim_buf_append(have_unit ? &cur : &prelude, d + pos, plen);
        pos += plen;
    }
    if (have_unit) {
        s->replay = sim_xrealloc(s->replay, (s->replay_count + 1) * sizeof *s->replay);
        s->replay[s->replay_count].data = cur.data;
        s->replay[s->replay_count].len = cur.len;
        s->replay_count++;
    }
    sim_buf_free(&all);
    s->replay_banner = prelude.data;
    s->replay_banner_len = prelude.len;
    if (!s->replay_count) {
        fprintf(stderr, "ami-sim: %s holds no response to replay\n", path);
        return -1;
    }
    return 0;
}

void sim_replay_free(sim *s)
{
    for (size_t i = 0; i < s->replay_count; i++)
        free(s->replay[i].data);
    free(s->replay);
    free(s->replay_banner);
    s->replay = NULL;
    s->replay_banner = NULL;
    s->replay_count = 0;
}

/* The ActionID value of the unit's response packet, or NULL. */
static int recorded_id(const char *d, size_t n, const char **id, size_t *idlen)
{
    size_t i = 0;
    while (i < n) {
        const char *eol = memchr(d + i, '\n', n - i);
        size_t ll = eol ? (size_t)(eol - (d + i)) + 1 : n - i;
        if (ll <= 2)
            return 0; /* end of the response packet */
        if (starts_with(d + i, ll, "ActionID: ")) {
            *id = d + i + 10;
            *idlen = ll - 10;
            while (*idlen && ((*id)[*idlen - 1] == '\n' || (*id)[*idlen - 1] == '\r'))
                (*idlen)--;
            return 1;
        }
        i += ll;
    }
    return 0;
}

void sim_replay_action(sim_conn *c, const ami_packet *p)
{
    sim *s = c->sim;
    if ((s->opt.faults & SIM_FAULT_STALL) || c->replay_pos >= s->replay_count)
        return;
    const sim_replay_unit *u = &s->replay[c->replay_pos++];
    const char *cid = ami_packet_action_id(p);
    if (cid && !*cid)
        cid = NULL;
    const char *rid = NULL;
    size_t ridlen = 0;
    int has_rid = recorded_id(u->data, u->len, &rid, &ridlen);

    sim_buf b = {0};
    size_t i = 0;
    int first_line = 1;
    while (i < u->len) {
        const char *line = u->data + i;
        const char *eol = memchr(line, '\n', u->len - i);
        size_t ll = eol ? (size_t)(eol - line) + 1 : u->len - i;
        i += ll;
        if (has_rid && starts_with(line, ll, "ActionID: ") && ll >= 10 + ridlen &&
            memcmp(line + 10, rid, ridlen) == 0 &&
            (ll == 10 + ridlen || line[10 + ridlen] == '\r' || line[10 + ridlen] == '\n')) {
            if (cid) {
                sim_hdr(&b, "ActionID", cid);
            }
            continue;
        }
        sim_buf_append(&b, line, ll);
        if (first_line && !has_rid && cid)
            sim_hdr(&b, "ActionID", cid);
        first_line = 0;
    }
    sim_conn_send_response(c, &b);
    sim_buf_free(&b);
    if (c->replay_pos == s->replay_count)
        c->closing = 1;
}
