/* Parsing -H host[:port] (repeatable) and choosing a server. */
#include "servers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_port(const char *s, unsigned *out)
{
    if (!*s || strlen(s) > 5)
        return -1;
    unsigned v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        v = v * 10 + (unsigned)(*c - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

static int set_host(tool_server *sv, const char *h, size_t n)
{
    if (n == 0 || n >= sizeof(sv->host)) {
        tool_err("invalid host '%s' — use -H host, host:port or [ipv6]:port", sv->arg);
        return TOOL_EXIT_USAGE;
    }
    memcpy(sv->host, h, n);
    sv->host[n] = '\0';
    return 0;
}

/* host, host:port, [v6], [v6]:port, or a bare IPv6 literal (two colons or
 * more, so a port cannot be told apart and none is taken). */
static int split_host(tool_server *sv, const char **port_out)
{
    const char *h = sv->arg;
    *port_out = NULL;
    if (h[0] == '[') {
        const char *end = strchr(h, ']');
        if (!end || (end[1] && end[1] != ':') || (end[1] == ':' && !end[2])) {
            tool_err("invalid host '%s' — write an IPv6 address as [addr] or [addr]:port", h);
            return TOOL_EXIT_USAGE;
        }
        if (end[1] == ':')
            *port_out = end + 2;
        return set_host(sv, h + 1, (size_t)(end - h - 1));
    }
    const char *colon = strchr(h, ':');
    if (colon && !strchr(colon + 1, ':')) {
        *port_out = colon + 1;
        return set_host(sv, h, (size_t)(colon - h));
    }
    return set_host(sv, h, strlen(h));
}

/* The port when -H names none: -p, then AMI_PORT, then 5039 for TLS (the
 * AMI-over-TLS convention) or 5038. */
static int default_port(const tool_opts *o, unsigned *out)
{
    const char *port = o->port_arg, *what = "-p";
    if (!port && getenv("AMI_PORT") && *getenv("AMI_PORT")) {
        port = getenv("AMI_PORT");
        what = "AMI_PORT";
    }
    *out = o->tls ? 5039 : 5038;
    if (port && parse_port(port, out) != 0) {
        tool_err("invalid port '%s' in %s — a port is a number from 1 to 65535", port, what);
        return TOOL_EXIT_USAGE;
    }
    return 0;
}

static int settle_one(tool_server *sv, unsigned dflt)
{
    const char *port = NULL;
    int rc = split_host(sv, &port);
    if (rc)
        return rc;
    /* A port written in the host wins over -p and AMI_PORT: it is the most
     * specific thing the user said. */
    sv->port = dflt;
    if (port && parse_port(port, &sv->port) != 0) {
        tool_err("invalid port '%s' in -H %s — a port is a number from 1 to 65535", port, sv->arg);
        return TOOL_EXIT_USAGE;
    }
    if (strchr(sv->host, ':'))
        snprintf(sv->where, sizeof(sv->where), "[%s]:%u", sv->host, sv->port);
    else
        snprintf(sv->where, sizeof(sv->where), "%s:%u", sv->host, sv->port);
    return 0;
}

/* --server NAME: the -H argument as written, its host:port, or its host. */
static int names(const tool_server *sv, const char *name)
{
    return strcmp(sv->arg, name) == 0 || strcasecmp(sv->where, name) == 0 ||
           strcasecmp(sv->host, name) == 0;
}

static int choose(tool_opts *o)
{
    for (size_t i = 0; i < o->nservers; i++) {
        if (names(&o->servers[i], o->server_name)) {
            if (i)
                o->servers[0] = o->servers[i];
            o->nservers = 1;
            return 0;
        }
    }
    char list[1024] = "";
    for (size_t i = 0; i < o->nservers; i++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", o->servers[i].where);
    }
    tool_err("--server '%s' is none of the servers given with -H (%s) — name one of them",
             o->server_name, list);
    return TOOL_EXIT_USAGE;
}

int tool_servers_settle(tool_opts *o)
{
    unsigned dflt;
    int rc = default_port(o, &dflt);
    if (rc)
        return rc;
    const char *env = getenv("AMI_HOST");
    if (o->nhost_args == 0) {
        o->host_args[0] = env && *env ? env : "localhost";
        o->nhost_args = 1;
    }
    o->nservers = 0;
    for (size_t i = 0; i < o->nhost_args; i++) {
        tool_server *sv = &o->servers[o->nservers++];
        memset(sv, 0, sizeof(*sv));
        sv->arg = o->host_args[i];
        rc = settle_one(sv, dflt);
        if (rc)
            return rc;
    }
    if (o->server_name && (rc = choose(o)) != 0)
        return rc;
    o->host_arg = o->servers[0].arg;
    memcpy(o->host, o->servers[0].host, sizeof(o->host));
    o->port = o->servers[0].port;
    return 0;
}
