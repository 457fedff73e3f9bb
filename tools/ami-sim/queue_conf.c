/*
 * Queue configuration: the built-in queues of the server the fixtures were
 * captured on, or a queues.conf-like file (--queues FILE):
 *
 *   [support]
 *   strategy = ringall          ; ringall or rrmemory (others: ringall)
 *   maxlen = 0
 *   weight = 0
 *   servicelevel = 0
 *   member => Local/200@test,0,Agent Alice
 *   member => IFACE,PENALTY,NAME,STATE_IFACE,RINGINUSE,WRAPUPTIME,PAUSED,REASON
 *
 * Every member field after IFACE is optional; PAUSED (yes/no) and REASON
 * say how the member starts. The file is hostile input: long lines end the
 * load with an error, counts are bounded.
 */
#include "pbx.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_QUEUES 64

sim_queue *sim_queue_add(sim *s, const char *name)
{
    sim_queue *q = sim_xmalloc(sizeof *q);
    memset(q, 0, sizeof *q);
    snprintf(q->name, sizeof q->name, "%s", name);
    snprintf(q->strategy, sizeof q->strategy, "ringall");
    sim_queue **pp = &s->pbx->queues;
    while (*pp)
        pp = &(*pp)->next;
    *pp = q;
    return q;
}

sim_qmember *sim_qmember_add(sim_queue *q, const char *iface, const char *name)
{
    sim_qmember *m = sim_xmalloc(sizeof *m);
    memset(m, 0, sizeof *m);
    snprintf(m->iface, sizeof m->iface, "%s", iface);
    snprintf(m->state_iface, sizeof m->state_iface, "%s", iface);
    snprintf(m->name, sizeof m->name, "%s", name && *name ? name : iface);
    m->status = 1;
    m->ringinuse = 1;
    m->login_time = (long)time(NULL);
    sim_qmember **pp = &q->members;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    return m;
}

void sim_queues_default(sim *s)
{
    sim_queue *q = sim_queue_add(s, "support");
    sim_qmember_add(q, "Local/200@test", "Agent Alice");
    sim_qmember_add(q, "Local/201@test", "Agent Bob")->penalty = 5;
    q = sim_queue_add(s, "sales");
    snprintf(q->strategy, sizeof q->strategy, "rrmemory");
    q->max = 10;
    sim_qmember *m = sim_qmember_add(q, "Local/202@test", "Agent Carol");
    m->paused = 1;
    m->ringinuse = 0;
    m->last_pause = m->login_time;
    snprintf(m->reason, sizeof m->reason, "lunch");
}

static char *trim(char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    char *e = p + strlen(p);
    while (e > p && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return p;
}

static int yes(const char *v)
{
    return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
           strcasecmp(v, "on") == 0;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *trim(end) || errno || n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

static int member_line(sim_queue *q, char *v)
{
    char *f[8] = {0};
    int nf = 0;
    /* Split at every comma: empty fields keep their place. */
    for (char *t = v; t && nf < 8; nf++) {
        char *comma = strchr(t, ',');
        if (comma)
            *comma = '\0';
        f[nf] = trim(t);
        t = comma ? comma + 1 : NULL;
    }
    if (nf == 0 || !*f[0] || strchr(f[0], '/') == NULL)
        return -1;
    size_t count = 0;
    for (const sim_qmember *m = q->members; m; m = m->next)
        count++;
    if (count >= SIM_QUEUE_MAX_MEMBERS || sim_qmember_find(q, f[0]))
        return -1;
    sim_qmember *m = sim_qmember_add(q, f[0], nf > 2 ? f[2] : NULL);
    if (nf > 1 && *f[1] && parse_int(f[1], 0, 1000000, &m->penalty) != 0)
        return -1;
    if (nf > 3 && *f[3])
        snprintf(m->state_iface, sizeof m->state_iface, "%s", f[3]);
    if (nf > 4 && *f[4])
        m->ringinuse = yes(f[4]);
    if (nf > 5 && *f[5] && parse_int(f[5], 0, 86400, &m->wrapuptime) != 0)
        return -1;
    if (nf > 6 && *f[6] && yes(f[6])) {
        m->paused = 1;
        m->last_pause = m->login_time;
    }
    if (nf > 7)
        snprintf(m->reason, sizeof m->reason, "%s", f[7]);
    return 0;
}

int sim_queues_load(sim *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ami-sim: cannot open queues file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0, nq = 0;
    sim_queue *q = NULL;
    const char *err = NULL;
    while (!err && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            err = "line too long";
            break;
        }
        line[strcspn(line, ";#\r\n")] = '\0';
        char *p = trim(line);
        if (!*p)
            continue;
        if (*p == '[') {
            char *e = strchr(p, ']');
            if (!e || e == p + 1 || (size_t)(e - p - 1) >= sizeof q->name) {
                err = "bad section";
                break;
            }
            *e = '\0';
            q = NULL;
            if (strcmp(p + 1, "general") == 0)
                continue;
            if (++nq > MAX_QUEUES || sim_queue_find(s, p + 1)) {
                err = "too many or duplicate queues";
                break;
            }
            q = sim_queue_add(s, p + 1);
            continue;
        }
        char *eq = strchr(p, '=');
        if (!eq) {
            err = "expected key = value";
            break;
        }
        *eq = '\0';
        char *key = trim(p), *val = eq + 1;
        if (*val == '>')
            val++;
        val = trim(val);
        if (!q)
            continue; /* [general] keys are accepted and ignored */
        if (strcasecmp(key, "member") == 0) {
            if (member_line(q, val) != 0)
                err = "bad member (want IFACE[,PENALTY[,NAME[,STATE[,RINGINUSE[,WRAPUP[,PAUSED"
                      "[,REASON]]]]]]], no duplicates)";
        } else if (strcasecmp(key, "strategy") == 0) {
            snprintf(q->strategy, sizeof q->strategy, "%s",
                     strcasecmp(val, "rrmemory") == 0 ? "rrmemory" : "ringall");
        } else if (strcasecmp(key, "maxlen") == 0) {
            if (parse_int(val, 0, 100000, &q->max) != 0)
                err = "bad maxlen";
        } else if (strcasecmp(key, "weight") == 0) {
            if (parse_int(val, 0, 100000, &q->weight) != 0)
                err = "bad weight";
        } else if (strcasecmp(key, "servicelevel") == 0) {
            if (parse_int(val, 0, 86400, &q->servicelevel) != 0)
                err = "bad servicelevel";
        }
        /* Other queues.conf keys are accepted and ignored. */
    }
    fclose(f);
    if (err) {
        fprintf(stderr, "ami-sim: %s:%d: %s\n", path, lineno, err);
        return -1;
    }
    return 0;
}
