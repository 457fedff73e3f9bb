/* `ami shell`: the command loop and the shell's own commands; see
 * shell.h for the parts. */
#include "shell.h"

#include "conn.h"
#include "docs_fetch.h"
#include "filter.h"
#include "output.h"
#include "secret.h"
#include "tlsopt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

volatile sig_atomic_t shell_sigint;

/* Wire-form input: at most this many header lines after "Action:". */
#define WIRE_MAX_LINES AMI_ACTION_MAX_HEADERS

static void on_sigint(int sig)
{
    (void)sig;
    shell_sigint = 1;
}

static const char help_text[] =
    "Type an action as  Name Key=Value ...  (quote values with spaces: CallerID=\"Bob <100>\"),\n"
    "or in wire form: a line  Action: Name , then  Key: Value  lines, then an empty line.\n"
    "Tab completes action names and, after one, the header names the server documents.\n"
    "  help ACTION          the server's documentation of an action\n"
    "  help event NAME      ... of an event\n"
    "  events on|off        print events between prompts (sends Events EventMask=...)\n"
    "  filter Key=GLOB      print only events that match (repeat: all must match);\n"
    "  filter               lists the filters, filter clear removes them\n"
    "  cli COMMAND...       run a CLI command (the Command action)\n"
    "  reconnect            close the connection and connect again\n"
    "These commands are lower case: Events and Filter are the AMI actions.\n"
    "  quit, exit, Ctrl-D   leave; Ctrl-C stops waiting for an answer\n";

static void print_result(shell *sh, const ami_result *r)
{
    const ami_packet *resp = r ? ami_result_response(r) : NULL;
    if (!resp)
        return;
    tool_out out;
    tool_out_init(&out, sh->o->format, stdout);
    tool_out_begin(&out);
    tool_out_packet(&out, resp);
    size_t n = ami_result_event_count(r);
    for (size_t i = 0; i < n; i++)
        tool_out_packet(&out, ami_result_event(r, i));
    tool_out_finish(&out);
}

static void report_call(shell *sh, const char *name, int rc, const ami_result *r)
{
    switch (rc) {
    case AMI_OK:
        return;
    case AMI_ERR_ACTION_FAILED:
        tool_err("%s failed: %s", name, r ? ami_result_message(r) : "error");
        return;
    case AMI_ERR_CANCELLED:
        tool_err("stopped waiting for %s (AMI cannot take an action back: the server may still "
                 "run it; its answer will be dropped)",
                 name);
        return;
    case AMI_ERR_TIMEOUT:
        tool_err("no answer to %s within --timeout %gs", name, sh->o->timeout_sec);
        return;
    case AMI_ERR_DISCONNECTED:
        tool_err("%s: not connected to %s (reconnecting; try again, or type reconnect)", name,
                 sh->o->servers[0].where);
        return;
    default:
        tool_err("%s was not sent or failed: %s", name, ami_strerror(rc));
        return;
    }
}

/* Send and print as `ami action` does. */
static void run_action(shell *sh, ami_action *a)
{
    const char *name = ami_action_name(a);
    ami_result *r = NULL;
    int rc = shell_call(sh, a, sh->o->timeout_ms, &r);
    if (rc != AMI_ERR_CANCELLED)
        print_result(sh, r);
    report_call(sh, name, rc, r);
    ami_result_free(r);
}

/* The missing-header check: 1 when the action must not be sent. */
static int refuse_missing(shell *sh, const char *name, char *const *kv, int nkv)
{
    int st;
    const tool_doc *d = shell_doc(sh, 0, name, &st);
    if (!d)
        return 0; /* no documentation: plain input (a warning said why) */
    char missing[512];
    size_t n = tool_docs_missing(d, kv, nkv, missing, sizeof missing);
    if (!n)
        return 0;
    tool_err("%s needs %s (the server documents %s as required) — nothing was sent; Tab "
             "after the action name lists its headers",
             d->name, missing, n == 1 ? "it" : "them");
    return 1;
}

static void cmd_help(shell *sh, int argc, const char **argv)
{
    if (argc == 1) {
        fputs(help_text, stdout);
        return;
    }
    int is_event = argc == 3 && strcasecmp(argv[1], "event") == 0;
    if (argc != 2 && !is_event) {
        tool_err("help: give one action (help Originate) or one event (help event Hangup)");
        return;
    }
    const char *name = argv[is_event ? 2 : 1];
    int st;
    const tool_doc *d = shell_doc(sh, is_event, name, &st);
    if (d) {
        tool_docs_print(d, sh->o->format, stdout);
        return;
    }
    if (st == TOOL_DOC_EMPTY)
        tool_err("the server documents no %s named '%s'", is_event ? "event" : "action", name);
    else if (st == TOOL_DOCS_BAD_NAME)
        tool_err("'%s' is not an %s name", name, is_event ? "event" : "action");
    /* otherwise shell_doc printed why */
}

static void cmd_events(shell *sh, int argc, const char **argv)
{
    if (argc != 2 || (strcasecmp(argv[1], "on") != 0 && strcasecmp(argv[1], "off") != 0)) {
        tool_err("events: write events on or events off");
        return;
    }
    int on = strcasecmp(argv[1], "on") == 0;
    ami_action *a = NULL;
    if (ami_action_create(&a, "Events") != 0 ||
        ami_action_add(a, "EventMask", on ? "on" : "off") != 0)
        tool_oom();
    ami_result *r = NULL;
    int rc = shell_call(sh, a, sh->o->timeout_ms, &r);
    ami_action_free(a);
    if (rc == 0)
        shell_events_set(sh, on);
    report_call(sh, "Events", rc, r);
    if (rc == 0)
        printf("events %s\n", on ? "on" : "off");
    ami_result_free(r);
}

static void cmd_filter(shell *sh, int argc, const char **argv)
{
    if (argc == 1) {
        if (!sh->filter.n)
            puts("no filter: every event is printed (with events on)");
        for (size_t i = 0; i < sh->filter.n; i++)
            printf("filter %.*s=%s\n", (int)sh->filter.v[i].key_len, sh->filter.v[i].key,
                   sh->filter.v[i].glob);
        return;
    }
    if (argc == 2 && strcasecmp(argv[1], "clear") == 0) {
        tool_filter_free(&sh->filter);
        memset(&sh->filter, 0, sizeof sh->filter);
        return;
    }
    for (int i = 1; i < argc; i++) {
        /* tool_filter keeps pointers into its argument: keep a copy. */
        char *copy = strdup(argv[i]);
        if (!copy)
            tool_oom();
        if (tool_filter_add(&sh->filter, copy) != 0) {
            free(copy);
            tool_err("filter: write Key=GLOB, e.g. filter Event=Hangup");
            return;
        }
    }
}

static void cmd_cli(shell *sh, int argc, const char **argv)
{
    if (argc < 2) {
        tool_err("cli: give the CLI command, e.g. cli core show channels");
        return;
    }
    char cmd[1024];
    size_t used = 0;
    for (int i = 1; i < argc && used < sizeof cmd; i++) {
        int w = snprintf(cmd + used, sizeof cmd - used, "%s%s", i > 1 ? " " : "", argv[i]);
        if (w < 0)
            return;
        used += (size_t)w;
    }
    ami_action *a = NULL;
    if (ami_action_create(&a, "Command") != 0)
        tool_oom();
    int rc = ami_action_add(a, "Command", cmd);
    if (rc) {
        tool_err("cli: the command was refused: %s — nothing was sent", ami_strerror(rc));
        ami_action_free(a);
        return;
    }
    ami_result *r = NULL;
    rc = shell_call(sh, a, sh->o->timeout_ms, &r);
    ami_action_free(a);
    if (r && ami_result_response(r) && rc != AMI_ERR_CANCELLED) {
        if (sh->o->format == TOOL_FORMAT_TEXT) {
            size_t n = ami_result_output_count(r);
            for (size_t i = 0; i < n; i++) {
                size_t len;
                const char *line = ami_result_output_line(r, i, &len);
                fwrite(line, 1, len, stdout);
                fputc('\n', stdout);
            }
        } else {
            tool_out out;
            tool_out_init(&out, sh->o->format, stdout);
            out.array_key = "Output";
            tool_out_packet(&out, ami_result_response(r));
            tool_out_finish(&out);
        }
    }
    if (rc != AMI_ERR_ACTION_FAILED)
        report_call(sh, "Command", rc, r);
    ami_result_free(r);
}

static void cmd_reconnect(shell *sh)
{
    ami_async_stop(sh->a);
    sh->stopped = 0;
    sh->up = 0;
    if (ami_async_start(sh->a) != 0) {
        tool_err("reconnect: cannot start the connection again");
        return;
    }
    if (shell_wait_up(sh, sh->o->timeout_ms) == 0)
        printf("connected to %s\n", sh->o->servers[0].where);
    else if (!shell_sigint)
        tool_err("reconnect: %s", ami_async_errmsg(sh->a));
}

/* "Action: Name" and then "Key: Value" lines up to an empty line. */
static void wire_form(shell *sh, const char *first)
{
    const char *v = first + 7;
    while (*v == ' ' || *v == '\t')
        v++;
    char name[128];
    size_t nl = strlen(v);
    if (nl >= sizeof name) {
        tool_err("wire form: the action name is too long — nothing was sent");
        return;
    }
    memcpy(name, v, nl + 1);
    while (nl && (name[nl - 1] == ' ' || name[nl - 1] == '\r'))
        name[--nl] = '\0';
    char *kv[WIRE_MAX_LINES + 1];
    int nkv = 1;
    kv[0] = NULL;
    int bad = 0;
    for (;;) {
        int intr;
        const char *line = shell_readline(sh, "...> ", &intr);
        if (!line || intr) {
            bad = 1;
            break;
        }
        char buf[2048];
        snprintf(buf, sizeof buf, "%s", line);
        size_t l = strlen(buf);
        while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r'))
            buf[--l] = '\0';
        if (!l)
            break;
        char *colon = strchr(buf, ':');
        if (!colon || nkv > WIRE_MAX_LINES) {
            tool_err("wire form: '%s' is not a Key: Value line — the action is dropped", buf);
            bad = 1;
            break;
        }
        /* "Key: Value" into "Key=Value" (one space after the colon). */
        *colon = '=';
        char *val = colon + 1;
        if (*val == ' ')
            memmove(val, val + 1, strlen(val));
        kv[nkv] = strdup(buf);
        if (!kv[nkv])
            tool_oom();
        nkv++;
    }
    if (!bad && !refuse_missing(sh, name, kv + 1, nkv - 1)) {
        ami_action *a = NULL;
        if (tool_action_build(name, kv, nkv, &a) == 0) {
            run_action(sh, a);
            ami_action_free(a);
        }
    }
    for (int i = 1; i < nkv; i++)
        free(kv[i]);
}

/* The shell's own commands are lower case; the AMI actions of the same
 * names are typed as Asterisk spells them (Events, Filter). */
static void dispatch(shell *sh, int argc, const char **argv)
{
    const char *w = argv[0];
    if (strcmp(w, "help") == 0 || strcmp(w, "?") == 0)
        cmd_help(sh, argc, argv);
    else if (strcmp(w, "events") == 0)
        cmd_events(sh, argc, argv);
    else if (strcmp(w, "filter") == 0)
        cmd_filter(sh, argc, argv);
    else if (strcmp(w, "cli") == 0)
        cmd_cli(sh, argc, argv);
    else if (strcmp(w, "reconnect") == 0 && argc == 1)
        cmd_reconnect(sh);
    else if ((strcmp(w, "quit") == 0 || strcmp(w, "exit") == 0) && argc == 1)
        sh->quit = 1;
    else {
        char **kv = (char **)argv;
        if (refuse_missing(sh, w, kv + 1, argc - 1))
            return;
        ami_action *a = NULL;
        if (tool_action_build(w, kv, argc, &a) != 0)
            return;
        run_action(sh, a);
        ami_action_free(a);
    }
}

static void loop(shell *sh)
{
    while (!sh->quit) {
        int intr = 0;
        const char *prompt = sh->up ? "ami> " : "ami (not connected)> ";
        const char *line = shell_readline(sh, prompt, &intr);
        if (!line) {
            fputc('\n', stdout);
            break; /* Ctrl-D */
        }
        if (intr)
            continue;
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '\n' || *p == '#')
            continue;
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", p);
        size_t l = strlen(copy);
        while (l && (copy[l - 1] == '\n' || copy[l - 1] == '\r'))
            copy[--l] = '\0';
        shell_history_add(sh, copy);
        if (strncasecmp(copy, "Action:", 7) == 0) {
            wire_form(sh, copy);
        } else {
            int argc = 0;
            const char **argv = NULL;
            tok_reset(sh->tok);
            int t = tok_str(sh->tok, copy, &argc, &argv);
            if (t != 0)
                tool_err("unclosed quote or trailing backslash — nothing was sent");
            else if (argc > 0)
                dispatch(sh, argc, argv);
        }
        fflush(stdout);
    }
}

int tool_cmd_shell(tool_opts *o)
{
    if (o->nargs > 0) {
        tool_err("shell: unexpected argument '%s' — type actions at the prompt", o->args[0]);
        return TOOL_EXIT_USAGE;
    }
    ami_tls_config *tls;
    int rc = tool_conn_settle_tls(o, &tls);
    if (rc)
        return rc;
    shell sh;
    memset(&sh, 0, sizeof sh);
    sh.o = o;
    sh.events_on = o->events_mask && strcasecmp(o->events_mask, "off") != 0;
    if ((rc = tool_record_open(o, &sh.rec)) != 0) {
        tool_tls_config_free(tls);
        return rc;
    }
    char secret[TOOL_SECRET_MAX];
    if ((rc = tool_secret_get(o, secret)) != 0) {
        tool_secret_wipe(secret);
        tool_tls_config_free(tls);
        tool_record_close(sh.rec);
        return rc;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll() returns */
    /* Interactive: the terminal gets each line at once. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    shell_io_init(&sh);
    rc = shell_conn_start(&sh, secret, tls);
    tool_secret_wipe(secret);
    tool_tls_config_free(tls);
    if (rc == 0) {
        if (shell_wait_up(&sh, o->timeout_ms) != 0 && sh.stopped) {
            rc = sh.stop_code;
        } else {
            if (sh.up)
                printf("connected to %s — Tab completes, help for help, Ctrl-D leaves\n",
                       o->servers[0].where);
            else
                tool_err("%s: %s — still trying in the background (the prompt says when "
                         "connected)",
                         o->servers[0].where, ami_async_errmsg(sh.a));
            sh.loop_started = 1;
            loop(&sh);
        }
    }
    sh.quit = 1;
    shell_conn_stop(&sh);
    shell_docs_free(&sh);
    shell_io_free(&sh);
    for (size_t i = 0; i < sh.filter.n; i++)
        free((char *)sh.filter.v[i].key);
    tool_filter_free(&sh.filter);
    int rcode = tool_record_close(sh.rec);
    return rc ? rc : rcode;
}
