/* `ami`: command-line client of the Asterisk Manager Interface. This file
 * parses the arguments and dispatches to the subcommands. */
#include "filter.h"
#include "tool.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: ami [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  action NAME [Key=Value ...]  send one action, print its response (and the events\n"
    "                               of a list action); Key=Value splits at the first '='\n"
    "  cli COMMAND...               run a CLI command (the Command action) and print its\n"
    "                               output as Asterisk's console does\n"
    "  events                       print events until Ctrl-C, --count or --until\n"
    "  decode [FILE|-]              parse a raw AMI byte stream (no network)\n"
    "  state                        print what is going on now (calls, bridges, queues\n"
    "                               with members and callers, parked calls) and exit\n"
    "  top                          live full-screen view of calls, queues and parked\n"
    "                               calls (1 2 3 or Tab views, / filter, s sort, q quit)\n"
    "  describe ACTION              the server's documentation of an action, parsed\n"
    "  describe --event NAME        ... of an event\n"
    "  originate Key=Value ...      originate a call (Channel=... and Context/Exten/\n"
    "                               Priority or Application/Data); --wait follows it\n"
    "  shell                        interactive console: line editing, history, Tab\n"
    "                               completion from the server's own documentation\n"
    "\n"
    "Connection (defaults from AMI_HOST, AMI_PORT, AMI_USER):\n"
    "  -H, --host HOST[:PORT]   host name, IPv4 or [IPv6] address (default localhost)\n"
    "                           repeatable: events, state and top watch them all,\n"
    "                           action and cli use the first (or --server)\n"
    "  -p, --port PORT          port of every -H without its own (default 5038, 5039\n"
    "                           with --tls)\n"
    "      --server NAME        use only this one of the -H servers (NAME as given to\n"
    "                           -H, its host:port, or its host)\n"
    "  -u, --user USER          AMI user name\n"
    "      --secret-file FILE   read the secret from FILE (mode 600; one trailing\n"
    "                           newline is removed). Otherwise AMI_SECRET, otherwise a\n"
    "                           prompt on the terminal. There is no --secret option:\n"
    "                           command lines are visible to every user.\n"
    "      --md5                challenge (MD5) login instead of a plain one\n"
    "      --timeout SEC        limit for each network step (default 10, fractions\n"
    "                           allowed, 0 = no limit)\n"
    "      --events MASK        Events: value at login (default: on for events, off\n"
    "                           otherwise), e.g. call,system\n"
    "\n"
    "TLS (AMI over TLS, Asterisk's manager.conf tlsenable; certificate and host name\n"
    "are verified):\n"
    "      --tls                connect with TLS (default port 5039)\n"
    "      --cafile FILE        trust the CA certificates in FILE (PEM) instead of\n"
    "                           the system's store\n"
    "      --capath DIR         trust a hashed directory of CA certificates\n"
    "      --cert FILE --key FILE\n"
    "                           client certificate and its private key (PEM)\n"
    "      --tls-server-name NAME\n"
    "                           name to ask for (SNI) and to find in the certificate\n"
    "                           (default: the -H host)\n"
    "      --insecure           do NOT verify the certificate (warns every time)\n"
    "\n"
    "Output:\n"
    "  -f, --format FMT         text (default: AMI wire form), json (one array of\n"
    "                           packets) or ndjson (one packet object per line);\n"
    "                           state: text (a listing) or json (one object; with\n"
    "                           several -H one per server, under its -H name)\n"
    "\n"
    "events:\n"
    "      --filter Key=GLOB    print only events with a header Key (any case) whose\n"
    "                           value matches GLOB; several filters must all match\n"
    "      --count N            stop after printing N events\n"
    "      --until Key=GLOB     stop after the first event that matches (repeatable:\n"
    "                           all must match)\n"
    "      --reconnect          follow the servers across restarts (backoff 0.5 s\n"
    "                           doubling to 10 s); after a reconnect an AmiGap event\n"
    "                           says which window of events was missed. Without it a\n"
    "                           lost server ends the stream (status 3)\n"
    "      --tag                add \"Server: host:port\" first to every packet (the\n"
    "                           default with more than one -H)\n"
    "action:\n"
    "      --check              refuse (status 2, nothing sent) when a header the\n"
    "                           server documents as required is missing\n"
    "originate:\n"
    "      --wait               wait for the OriginateResponse and follow the call to\n"
    "                           its hangup (statuses 0, 1, 5, 6, 7 below)\n"
    "action, events, shell, originate:\n"
    "      --record BASE        keep every byte of the session in BASE.raw (server),\n"
    "                           BASE.sent (client; login secret masked) and\n"
    "                           BASE.timeline (replay: ami-sim --replay BASE.raw)\n"
    "decode:\n"
    "      --chunk N            feed the parser N bytes at a time\n"
    "state:\n"
    "      --until Key=GLOB     after the snapshot, follow events and print the state\n"
    "                           right after the first that matches (repeatable)\n"
    "      --from FILE          no network: the state a recorded server stream (a .raw\n"
    "                           capture, - for stdin) builds, at its end\n"
    "top:\n"
    "      --once               print one screen as plain text and exit; with --from\n"
    "                           FILE, the screen a capture ends with\n"
    "      --view VIEW          start with calls (default), queues or parked\n"
    "\n"
    "  -h, --help               this help      -V, --version   the version\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  the server answered Response: Error (its Message: is printed on stderr);\n"
    "     describe: the server does not document that name\n"
    "  2  usage error, including a value libami refuses (CR or LF: nothing is sent)\n"
    "  3  connection failed or broke (refused, closed, not an AMI server, protocol\n"
    "     violation or limit, a TLS certificate that did not verify), or the\n"
    "     output could not be written\n"
    "  4  authentication failed\n"
    "  5  timeout (originate --wait: no answer within Timeout)\n"
    "  6  originate --wait: the call was busy\n"
    "  7  originate --wait: the call failed (no such channel, congestion, ...)\n";

enum opt_id {
    OPT_HELP,
    OPT_VERSION,
    OPT_HOST,
    OPT_PORT,
    OPT_USER,
    OPT_SECRET_FILE,
    OPT_MD5,
    OPT_TIMEOUT,
    OPT_EVENTS,
    OPT_FORMAT,
    OPT_FILTER,
    OPT_COUNT,
    OPT_UNTIL,
    OPT_CHUNK,
    OPT_SERVER,
    OPT_TAG,
    OPT_RECONNECT,
    OPT_TLS,
    OPT_CAFILE,
    OPT_CAPATH,
    OPT_CERT,
    OPT_KEY,
    OPT_TLS_SERVER_NAME,
    OPT_INSECURE,
    OPT_FROM,
    OPT_ONCE,
    OPT_VIEW,
    OPT_EVENT,
    OPT_CHECK,
    OPT_WAIT,
    OPT_RECORD
};

struct opt_def {
    const char *name;
    char short_name;
    int has_arg;
    enum opt_id id;
};

static const struct opt_def opt_defs[] = {
    {"help", 'h', 0, OPT_HELP},
    {"version", 'V', 0, OPT_VERSION},
    {"host", 'H', 1, OPT_HOST},
    {"port", 'p', 1, OPT_PORT},
    {"user", 'u', 1, OPT_USER},
    {"secret-file", 0, 1, OPT_SECRET_FILE},
    {"md5", 0, 0, OPT_MD5},
    {"timeout", 0, 1, OPT_TIMEOUT},
    {"events", 0, 1, OPT_EVENTS},
    {"format", 'f', 1, OPT_FORMAT},
    {"filter", 0, 1, OPT_FILTER},
    {"count", 0, 1, OPT_COUNT},
    {"until", 0, 1, OPT_UNTIL},
    {"chunk", 0, 1, OPT_CHUNK},
    {"server", 0, 1, OPT_SERVER},
    {"tag", 0, 0, OPT_TAG},
    {"reconnect", 0, 0, OPT_RECONNECT},
    {"tls", 0, 0, OPT_TLS},
    {"cafile", 0, 1, OPT_CAFILE},
    {"capath", 0, 1, OPT_CAPATH},
    {"cert", 0, 1, OPT_CERT},
    {"key", 0, 1, OPT_KEY},
    {"tls-server-name", 0, 1, OPT_TLS_SERVER_NAME},
    {"insecure", 0, 0, OPT_INSECURE},
    {"from", 0, 1, OPT_FROM},
    {"once", 0, 0, OPT_ONCE},
    {"view", 0, 1, OPT_VIEW},
    {"event", 0, 0, OPT_EVENT},
    {"check", 0, 0, OPT_CHECK},
    {"wait", 0, 0, OPT_WAIT},
    {"record", 0, 1, OPT_RECORD},
};

/* Options of describe/action/originate/--record used with another
 * command: the message, or NULL. */
static const char *tool_opts_scope(const tool_opts *o, const char *cmd)
{
    if (o->doc_event && strcmp(cmd, "describe") != 0)
        return "--event only applies to the describe command";
    if (o->check && strcmp(cmd, "action") != 0)
        return "--check only applies to the action command";
    if (o->wait && strcmp(cmd, "originate") != 0)
        return "--wait only applies to the originate command";
    if (o->record && strcmp(cmd, "action") != 0 && strcmp(cmd, "events") != 0 &&
        strcmp(cmd, "shell") != 0 && strcmp(cmd, "originate") != 0)
        return "--record applies to the action, events, shell and originate commands";
    return NULL;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int apply(tool_opts *o, enum opt_id id, const char *name, const char *val)
{
    unsigned long n;
    switch (id) {
    case OPT_HELP:
        fputs(usage_text, stdout);
        exit(fflush(stdout) == 0 ? 0 : TOOL_EXIT_CONNECTION);
    case OPT_VERSION:
        printf("ami %s (libami %s)\n", AMI_VERSION_STRING, ami_version());
        exit(fflush(stdout) == 0 ? 0 : TOOL_EXIT_CONNECTION);
    case OPT_HOST:
        if (o->nhost_args == TOOL_MAX_SERVERS)
            return tool_usage_error("too many -H options: at most %d servers", TOOL_MAX_SERVERS);
        o->host_args[o->nhost_args++] = val;
        break;
    case OPT_SERVER:
        o->server_name = val;
        break;
    case OPT_TAG:
        o->tag = 1;
        o->events_only_opt = name;
        break;
    case OPT_RECONNECT:
        o->reconnect = 1;
        o->events_only_opt = name;
        break;
    case OPT_TLS:
        o->tls = 1;
        break;
    case OPT_CAFILE:
        o->cafile = val;
        break;
    case OPT_CAPATH:
        o->capath = val;
        break;
    case OPT_CERT:
        o->cert = val;
        break;
    case OPT_KEY:
        o->key = val;
        break;
    case OPT_TLS_SERVER_NAME:
        o->tls_server_name = val;
        break;
    case OPT_INSECURE:
        o->insecure = 1;
        break;
    case OPT_EVENT:
        o->doc_event = 1;
        break;
    case OPT_CHECK:
        o->check = 1;
        break;
    case OPT_WAIT:
        o->wait = 1;
        break;
    case OPT_RECORD:
        if (!*val)
            return tool_usage_error("--record needs a file name prefix, e.g. --record /tmp/s");
        o->record = val;
        break;
    case OPT_PORT:
        o->port_arg = val;
        break;
    case OPT_USER:
        o->user = val;
        break;
    case OPT_SECRET_FILE:
        o->secret_file = val;
        break;
    case OPT_MD5:
        o->md5 = 1;
        break;
    case OPT_TIMEOUT: {
        char *end;
        errno = 0;
        double t = strtod(val, &end);
        if (errno || end == val || *end || !(t >= 0 && t <= 2000000.0))
            return tool_usage_error("invalid --timeout '%s': give seconds, e.g. 10 or 0.5", val);
        o->timeout_sec = t;
        o->timeout_ms = (int)(t * 1000.0);
        if (o->timeout_ms < t * 1000.0)
            o->timeout_ms++; /* round up: 0.0001 must not mean "no limit" */
        if (t == 0)
            o->timeout_ms = -1;
        break;
    }
    case OPT_EVENTS:
        o->events_mask = val;
        break;
    case OPT_FORMAT:
        if (strcmp(val, "text") == 0)
            o->format = TOOL_FORMAT_TEXT;
        else if (strcmp(val, "json") == 0)
            o->format = TOOL_FORMAT_JSON;
        else if (strcmp(val, "ndjson") == 0)
            o->format = TOOL_FORMAT_NDJSON;
        else
            return tool_usage_error("invalid --format '%s': use text, json or ndjson", val);
        break;
    case OPT_FILTER:
    case OPT_UNTIL:
        if (tool_filter_add(id == OPT_FILTER ? &o->filter : &o->until, val) != 0)
            return tool_usage_error("invalid filter '%s': write Key=GLOB, e.g. Event=Hangup", val);
        if (id == OPT_FILTER)
            o->events_only_opt = name;
        else
            o->until_opt = name;
        break;
    case OPT_FROM:
        o->state_from = val; /* state, and top --once */
        break;
    case OPT_ONCE:
        o->top_once = 1;
        o->top_only_opt = name;
        break;
    case OPT_VIEW:
        if (strcmp(val, "calls") != 0 && strcmp(val, "queues") != 0 && strcmp(val, "parked") != 0)
            return tool_usage_error("invalid --view '%s': use calls, queues or parked", val);
        o->top_view = val;
        o->top_only_opt = name;
        break;
    case OPT_COUNT:
        if (parse_ulong(val, (unsigned long)-1, &n) != 0)
            return tool_usage_error("invalid --count '%s': give a positive number", val);
        o->count = n;
        o->events_only_opt = name;
        break;
    case OPT_CHUNK:
        if (parse_ulong(val, 1ul << 30, &n) != 0)
            return tool_usage_error("invalid --chunk '%s': give a positive number of bytes", val);
        o->chunk = n;
        o->decode_only_opt = name;
        break;
    }
    return 0;
}

static const struct opt_def *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++)
        if (strlen(opt_defs[i].name) == len && strncmp(opt_defs[i].name, name, len) == 0)
            return &opt_defs[i];
    return NULL;
}

static const struct opt_def *find_short(char c)
{
    for (size_t i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++)
        if (opt_defs[i].short_name == c)
            return &opt_defs[i];
    return NULL;
}

/* Options may appear anywhere before "--"; the rest are positional
 * arguments, compacted to the front of argv. Returns 0 or an exit status. */
static int parse_args(tool_opts *o, int argc, char **argv, int *npos)
{
    int n = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            argv[n++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        const struct opt_def *d;
        const char *val = NULL;
        char shown[64];
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            d = find_long(a + 2, len);
            snprintf(shown, sizeof(shown), "--%.*s", (int)(len > 40 ? 40 : len), a + 2);
            if (!d && len == 6 && strncmp(a + 2, "secret", 6) == 0) {
                tool_err("there is no --secret option: a command line is visible to every "
                         "user — use AMI_SECRET, --secret-file FILE or the terminal prompt");
                return TOOL_EXIT_USAGE;
            }
            if (!d)
                return tool_usage_error("unknown option '%s'", shown);
            if (eq && !d->has_arg)
                return tool_usage_error("option '%s' takes no value", shown);
            if (eq)
                val = eq + 1;
        } else {
            d = find_short(a[1]);
            snprintf(shown, sizeof(shown), "-%c", a[1]);
            if (!d)
                return tool_usage_error("unknown option '%s'", shown);
            if (a[2] && !d->has_arg)
                return tool_usage_error("option '%s' takes no value (write short options apart)",
                                        shown);
            if (a[2])
                val = a + 2;
        }
        if (d->has_arg && !val) {
            if (i + 1 >= argc)
                return tool_usage_error("option '%s' needs a value", shown);
            val = argv[++i];
        }
        int rc = apply(o, d->id, d->name, val);
        if (rc)
            return rc;
    }
    *npos = n;
    return 0;
}

int main(int argc, char **argv)
{
    tool_opts o;
    memset(&o, 0, sizeof(o));
    o.timeout_sec = 10;
    o.timeout_ms = 10000;
    o.format = TOOL_FORMAT_TEXT;

    /* A closed stdout or a dropped connection must show up as an error
     * code from write(), not kill the process before it can report. */
    signal(SIGPIPE, SIG_IGN);
    static char stdout_buf[1 << 16];
    setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));

    int npos = 0;
    int rc = parse_args(&o, argc, argv, &npos);
    if (rc) {
        tool_filter_free(&o.filter);
        tool_filter_free(&o.until);
        return rc;
    }
    if (npos == 0)
        return tool_usage_error(
            "missing COMMAND (action, cli, events, decode, state, top, describe, "
            "originate or shell)");
    const char *cmd = argv[0];
    o.args = argv + 1;
    o.nargs = npos - 1;

    int is_events = strcmp(cmd, "events") == 0;
    const char *scope = tool_opts_scope(&o, cmd);
    int is_decode = strcmp(cmd, "decode") == 0;
    int is_state = strcmp(cmd, "state") == 0;
    int is_top = strcmp(cmd, "top") == 0;
    if (scope) {
        rc = tool_usage_error("%s", scope);
    } else if (o.until_opt && !is_events && !is_state) {
        rc = tool_usage_error("--%s only applies to the events and state commands", o.until_opt);
    } else if (o.state_from && !is_state && !(is_top && o.top_once)) {
        rc = tool_usage_error("--from only applies to the state command and to top --once");
    } else if (o.top_only_opt && !is_top) {
        rc = tool_usage_error("--%s only applies to the top command", o.top_only_opt);
    } else if (o.events_only_opt && !is_events) {
        rc = tool_usage_error("--%s only applies to the events command", o.events_only_opt);
    } else if (o.decode_only_opt && !is_decode) {
        rc = tool_usage_error("--%s only applies to the decode command", o.decode_only_opt);
    } else if (strcmp(cmd, "action") == 0) {
        rc = tool_cmd_action(&o);
    } else if (strcmp(cmd, "cli") == 0) {
        rc = tool_cmd_cli(&o);
    } else if (is_events) {
        rc = tool_cmd_events(&o);
    } else if (is_decode) {
        rc = tool_cmd_decode(&o);
    } else if (is_state) {
        rc = tool_cmd_state(&o);
    } else if (is_top) {
        rc = tool_cmd_top(&o);
    } else if (strcmp(cmd, "describe") == 0) {
        rc = tool_cmd_describe(&o);
    } else if (strcmp(cmd, "originate") == 0) {
        rc = tool_cmd_originate(&o);
    } else if (strcmp(cmd, "shell") == 0) {
        rc = tool_cmd_shell(&o);
    } else {
        rc = tool_usage_error("unknown command '%s': use action, cli, events, decode, state, top, "
                              "describe, originate or shell",
                              cmd);
    }
    tool_filter_free(&o.filter);
    tool_filter_free(&o.until);
    if (fflush(stdout) != 0 && errno != EPIPE && rc == 0) {
        tool_err("cannot write the output: %s", strerror(errno));
        rc = TOOL_EXIT_CONNECTION;
    }
    return rc;
}
