/* --replay-timing; see replay_timeline.h. */
#include "replay_timeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on what a (hostile or broken) recording can make the sim hold. */
#define MAX_ENTRIES  (1u << 20)
#define MAX_RAW      (256u << 20)
#define MAX_LINE_LEN 256

enum { TL_RECV, TL_SEND, TL_EOF };

typedef struct tl_entry {
    uint64_t t;
    int dir;
    size_t n, raw_off, sent_off;
} tl_entry;

static tl_entry *entries;
static size_t nentries;
static char *raw;
static size_t raw_len;
static int loaded;

static char *read_all(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ami-sim: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    sim_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (b.len + n > max) {
            fprintf(stderr, "ami-sim: %s is larger than %zu bytes\n", path, max);
            fclose(f);
            sim_buf_free(&b);
            return NULL;
        }
        sim_buf_append(&b, tmp, n);
    }
    fclose(f);
    *len = b.len;
    if (!b.data)
        return sim_xstrdup("");
    return b.data;
}

int sim_timeline_load(const char *raw_path)
{
    size_t pl = strlen(raw_path);
    char *tpath = sim_xmalloc(pl + 16);
    if (pl > 4 && strcmp(raw_path + pl - 4, ".raw") == 0)
        snprintf(tpath, pl + 16, "%.*s.timeline", (int)(pl - 4), raw_path);
    else
        snprintf(tpath, pl + 16, "%s.timeline", raw_path);
    raw = read_all(raw_path, MAX_RAW, &raw_len);
    size_t tl_len = 0;
    char *tl = raw ? read_all(tpath, MAX_RAW, &tl_len) : NULL;
    if (!tl) {
        free(tpath);
        sim_timeline_free();
        return -1;
    }
    size_t pos = 0, line = 0;
    uint64_t last_t = 0;
    int bad = 0;
    while (pos < tl_len && !bad) {
        const char *nl = memchr(tl + pos, '\n', tl_len - pos);
        size_t ll = nl ? (size_t)(nl - (tl + pos)) : tl_len - pos;
        line++;
        char buf[MAX_LINE_LEN];
        if (ll >= sizeof buf || nentries >= MAX_ENTRIES) {
            bad = 1;
            break;
        }
        memcpy(buf, tl + pos, ll);
        buf[ll] = '\0';
        pos += ll + 1;
        if (!ll)
            continue;
        unsigned long long t, n, ro, so;
        char dir[8];
        tl_entry e;
        if (sscanf(buf, "%llu\t%7s\t%llu\t%llu\t%llu", &t, dir, &n, &ro, &so) != 5) {
            bad = 1;
            break;
        }
        e.t = t;
        e.n = (size_t)n;
        e.raw_off = (size_t)ro;
        e.sent_off = (size_t)so;
        if (strcmp(dir, "recv") == 0)
            e.dir = TL_RECV;
        else if (strcmp(dir, "send") == 0)
            e.dir = TL_SEND;
        else if (strcmp(dir, "eof") == 0)
            e.dir = TL_EOF;
        else
            bad = 1;
        /* Chunks must lie inside the .raw, in order, and time must not
         * run backwards. */
        if (t < last_t || (e.dir == TL_RECV && (ro > raw_len || n > raw_len - ro)))
            bad = 1;
        if (bad)
            break;
        last_t = t;
        entries = sim_xrealloc(entries, (nentries + 1) * sizeof *entries);
        entries[nentries++] = e;
    }
    free(tl);
    if (bad) {
        fprintf(stderr,
                "ami-sim: %s line %zu: not a timeline line (t_ms dir nbytes raw_off "
                "sent_off, chunks inside the .raw, time not going back)\n",
                tpath, line);
        free(tpath);
        sim_timeline_free();
        return -1;
    }
    free(tpath);
    loaded = 1;
    return 0;
}

int sim_timeline_on(void)
{
    return loaded;
}

void sim_timeline_free(void)
{
    free(entries);
    free(raw);
    entries = NULL;
    raw = NULL;
    nentries = raw_len = 0;
    loaded = 0;
}

void sim_timeline_start(sim_conn *c)
{
    c->tl_pos = 0;
    c->tl_rx = 0;
    c->tl_since = sim_now_ms();
    c->banner_done = 1;
}

void sim_timeline_rx(sim_conn *c, size_t n)
{
    c->tl_rx += n;
}

static uint64_t gap(size_t i)
{
    return i == 0 ? entries[0].t : entries[i].t - entries[i - 1].t;
}

void sim_timeline_run(sim_conn *c, uint64_t now)
{
    while (c->tl_pos < nentries && !c->dead && !c->closing) {
        const tl_entry *e = &entries[c->tl_pos];
        if (e->dir == TL_SEND) {
            /* The client's chunk: wait for its bytes. */
            if (c->tl_rx < e->sent_off + e->n)
                return;
            c->tl_pos++;
            c->tl_since = now;
            continue;
        }
        if (c->tl_rx < e->sent_off || now < c->tl_since + gap(c->tl_pos))
            return;
        if (e->dir == TL_EOF) {
            c->closing = 1;
            c->tl_pos++;
            return;
        }
        /* One recorded chunk per write: the next waits for this one. */
        if (sim_buf_pending(&c->out))
            return;
        sim_conn_send(c, raw + e->raw_off, e->n);
        c->tl_pos++;
        c->tl_since = now;
    }
}

uint64_t sim_timeline_deadline(const sim_conn *c)
{
    if (c->tl_pos >= nentries || c->dead || c->closing)
        return AMI_NO_DEADLINE;
    const tl_entry *e = &entries[c->tl_pos];
    if (e->dir == TL_SEND || c->tl_rx < e->sent_off || sim_buf_pending(&c->out))
        return AMI_NO_DEADLINE; /* woken by the client's bytes or by POLLOUT */
    return c->tl_since + gap(c->tl_pos);
}
