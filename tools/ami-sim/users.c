/* AMI users and permission classes (manager.conf's read=/write=). */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* In Asterisk's order: authority strings are built by walking this table,
 * so "system,reporting,all" comes out in the same order as a real server. */
static const struct {
    int bit;
    const char *name;
} perms[] = {
    {SIM_SYSTEM, "system"},
    {SIM_CALL, "call"},
    {SIM_LOG, "log"},
    {SIM_VERBOSE, "verbose"},
    {SIM_COMMAND, "command"},
    {SIM_AGENT, "agent"},
    {SIM_USER, "user"},
    {SIM_CONFIG, "config"},
    {SIM_DTMF, "dtmf"},
    {SIM_REPORTING, "reporting"},
    {SIM_CDR, "cdr"},
    {SIM_DIALPLAN, "dialplan"},
    {SIM_ORIGINATE, "originate"},
    {SIM_AGI, "agi"},
    {SIM_CC, "cc"},
    {SIM_AOC, "aoc"},
    {SIM_TEST, "test"},
    {SIM_SECURITY, "security"},
    {SIM_MESSAGE, "message"},
    {SIM_ALL, "all"},
};

static int in_list(const char *list, const char *word)
{
    size_t wl = strlen(word);
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if ((size_t)(t - p) == wl && strncasecmp(p, word, wl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

int sim_perm_parse(const char *s)
{
    int r = 0;
    if (!s)
        return 0;
    for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++)
        if (in_list(s, perms[i].name))
            r |= perms[i].bit;
    return r;
}

static int is_true(const char *s)
{
    static const char *const t[] = {"yes", "true", "y", "t", "1", "on"};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcasecmp(s, t[i]) == 0)
            return 1;
    return 0;
}

static int is_false(const char *s)
{
    static const char *const f[] = {"no", "false", "n", "f", "0", "off"};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (strcasecmp(s, f[i]) == 0)
            return 1;
    return 0;
}

int sim_events_mask(const char *s)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    while (*p >= '0' && *p <= '9')
        p++;
    if (!*p)
        return (int)strtol(s, NULL, 10);
    if (is_false(s))
        return 0;
    if (is_true(s))
        return SIM_ALL;
    return sim_perm_parse(s);
}

void sim_perm_str(int perm, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++) {
        if (!(perm & perms[i].bit))
            continue;
        int w = snprintf(buf + used, n - used, "%s%s", used ? "," : "", perms[i].name);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
    if (!used)
        snprintf(buf, n, "<none>");
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static sim_user *add_user(sim *s, const char *name)
{
    sim_user *u = sim_xmalloc(sizeof *u);
    memset(u, 0, sizeof *u);
    u->name = sim_xstrdup(name);
    u->secret = sim_xstrdup("");
    /* Append so that the first definition wins lookups, like manager.c. */
    sim_user **pp = &s->users;
    while (*pp)
        pp = &(*pp)->next;
    *pp = u;
    return u;
}

int sim_users_load(sim *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ami-sim: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0;
    sim_user *cur = NULL;
    int in_general = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *c = strpbrk(line, ";#");
        if (c)
            *c = '\0';
        char *l = trim(line);
        if (!*l)
            continue;
        if (*l == '[') {
            char *e = strchr(l, ']');
            if (!e || e == l + 1) {
                fprintf(stderr, "ami-sim: %s:%d: bad section\n", path, lineno);
                fclose(f);
                return -1;
            }
            *e = '\0';
            in_general = strcasecmp(l + 1, "general") == 0;
            cur = in_general ? NULL : add_user(s, l + 1);
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) {
            fprintf(stderr, "ami-sim: %s:%d: expected key = value\n", path, lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        if (eq[1] == '>')
            eq++; /* "secret => x" is valid in Asterisk configs too */
        char *key = trim(l), *val = trim(eq + 1);
        if (in_general)
            continue;
        if (!cur) {
            fprintf(stderr, "ami-sim: %s:%d: %s outside a [user] section\n", path, lineno, key);
            fclose(f);
            return -1;
        }
        if (strcasecmp(key, "secret") == 0) {
            free(cur->secret);
            cur->secret = sim_xstrdup(val);
        } else if (strcasecmp(key, "read") == 0) {
            cur->readperm |= sim_perm_parse(val);
        } else if (strcasecmp(key, "write") == 0) {
            cur->writeperm |= sim_perm_parse(val);
        }
        /* Other manager.conf keys (permit, deny, writetimeout...) are
         * accepted and ignored so a real manager.conf section loads. */
    }
    fclose(f);
    if (!s->users) {
        fprintf(stderr, "ami-sim: %s defines no user\n", path);
        return -1;
    }
    return 0;
}

void sim_users_default(sim *s)
{
    sim_user *u = add_user(s, "admin");
    free(u->secret);
    u->secret = sim_xstrdup("amp111");
    u->readperm = SIM_ALL;
    u->writeperm = SIM_ALL;
}

const sim_user *sim_user_find(const sim *s, const char *name)
{
    for (const sim_user *u = s->users; u; u = u->next)
        if (strcasecmp(u->name, name) == 0)
            return u;
    return NULL;
}

void sim_users_free(sim *s)
{
    while (s->users) {
        sim_user *u = s->users;
        s->users = u->next;
        free(u->name);
        free(u->secret);
        free(u);
    }
}
