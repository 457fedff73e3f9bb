/*
 * Shared definitions of the `ami` command-line tool. The tool uses libami's
 * public API only; everything here is private to the tool (tool_ prefix).
 */
#ifndef AMI_TOOL_H
#define AMI_TOOL_H

#include <ami/ami.h>
#include <ami/client.h>

#include "diag.h"

#include <stddef.h>

/* Exit statuses: documented in --help, ami.1 and docs/ami.md. */
enum tool_exit {
    TOOL_EXIT_OK = 0,
    TOOL_EXIT_ACTION_FAILED = 1, /* Response: Error */
    TOOL_EXIT_USAGE = 2,         /* bad arguments, refused values */
    TOOL_EXIT_CONNECTION = 3,    /* refused, closed, not AMI, protocol */
    TOOL_EXIT_AUTH = 4,
    TOOL_EXIT_TIMEOUT = 5
};

typedef enum tool_format { TOOL_FORMAT_TEXT, TOOL_FORMAT_JSON, TOOL_FORMAT_NDJSON } tool_format;

/* A Key=GLOB list; a packet matches when every entry matches one header. */
typedef struct tool_match {
    const char *key; /* points into the argument, not owned */
    size_t key_len;
    const char *glob;
} tool_match;

typedef struct tool_filter {
    tool_match *v;
    size_t n;
} tool_filter;

/* Most -H options accepted: one poll() loop watches them all. */
#define TOOL_MAX_SERVERS 64

/* One server of -H (or AMI_HOST), settled by tool_conn_settle. */
typedef struct tool_server {
    const char *arg; /* as given */
    char host[256];  /* without brackets */
    unsigned port;
    char where[300]; /* "host:port", brackets around IPv6 */
} tool_server;

typedef struct tool_opts {
    /* connection */
    const char *host_args[TOOL_MAX_SERVERS]; /* every -H, in order */
    size_t nhost_args;
    const char *server_name; /* --server: use only this one of the -H */
    tool_server servers[TOOL_MAX_SERVERS];
    size_t nservers;
    const char *host_arg; /* the selected server's -H (or AMI_HOST) */
    const char *port_arg; /* -p or AMI_PORT as given */
    char host[256];       /* the selected server, without brackets */
    unsigned port;
    const char *user;
    const char *secret_file;
    const char *events_mask; /* NULL: the subcommand's default */
    int md5;
    int timeout_ms; /* -1: no limit */
    double timeout_sec;

    /* TLS (every network command) */
    int tls;
    const char *cafile;
    const char *capath;
    const char *cert;
    const char *key;
    const char *tls_server_name;
    int insecure;

    tool_format format;

    /* events */
    tool_filter filter;
    tool_filter until;
    unsigned long count; /* 0: unlimited */
    int tag;             /* --tag: name the server even when there is one */
    int reconnect;       /* --reconnect: follow servers across restarts */

    /* decode */
    size_t chunk; /* 0: whole reads */

    /* state and top */
    const char *state_from; /* --from FILE: a recorded server stream */
    int top_once;           /* --once: print one screen and exit */
    const char *top_view;   /* --view: the view to start with */

    /* positional arguments after the subcommand */
    char **args;
    int nargs;
    /* describe, action --check, originate, --record (issue 11) */
    int doc_event;      /* describe --event */
    int check;          /* action --check */
    int wait;           /* originate --wait */
    const char *record; /* --record BASE: BASE.raw, BASE.sent, BASE.timeline */

    /* which subcommand-specific options were seen, for usage checks */
    const char *events_only_opt;
    const char *decode_only_opt;
    const char *until_opt; /* --until: events and state */
    const char *top_only_opt;
} tool_opts;

/* Subcommands; each returns an exit status. */
int tool_cmd_action(tool_opts *o);
int tool_cmd_cli(tool_opts *o);
int tool_cmd_events(tool_opts *o);
int tool_cmd_decode(tool_opts *o);
int tool_cmd_state(tool_opts *o);
int tool_cmd_top(tool_opts *o);
int tool_cmd_describe(tool_opts *o);
int tool_cmd_originate(tool_opts *o);
int tool_cmd_shell(tool_opts *o);

/* An action from its name and Key=Value arguments args[1..nargs-1] (args[0]
 * is the name's slot and not read), checked before anything is sent.
 * Returns 0 with *out, or TOOL_EXIT_USAGE after a message. */
int tool_action_build(const char *name, char *const *args, int nargs, ami_action **out);

#endif
