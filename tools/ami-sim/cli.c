/*
 * The Command action: a handful of Asterisk CLI commands, answered with the
 * Asterisk 14+ framing ("Message: Command output follows" plus one Output:
 * header per line). Unknown commands get the CLI's own "No such command"
 * text, including its find_best() guess at the closest prefix.
 */
#include "docs.h"
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { CLI_OK, CLI_FAILURE, CLI_USAGE };

#define MAX_WORDS 32

typedef struct cli_entry {
    const char *words[4];
    int (*fn)(sim *s, sim_buf *out, char **args, int nargs);
    const char *usage;
} cli_entry;

static int cmd_version(sim *s, sim_buf *out, char **args, int nargs)
{
    (void)s;
    (void)args;
    if (nargs)
        return CLI_USAGE;
    sim_buf_puts(out, "Asterisk " SIM_AST_VERSION
                      " built by root @ vm on a x86_64 running Linux on 2026-11-27 02:53:41 UTC\n");
    return CLI_OK;
}

static int cmd_uptime(sim *s, sim_buf *out, char **args, int nargs)
{
    (void)args;
    if (nargs > 1)
        return CLI_USAGE;
    long up = (long)((sim_now_ms() - s->start_ms) / 1000u);
    if (nargs == 1) {
        if (strcasecmp(args[0], "seconds") != 0)
            return CLI_USAGE;
        sim_buf_printf(out, "System uptime: %ld\nLast reload: %ld\n", up, up);
        return CLI_OK;
    }
    char buf[128];
    sim_uptime_str(up, buf, sizeof buf);
    sim_buf_printf(out, "System uptime: %s\nLast reload: %s\n", buf, buf);
    return CLI_OK;
}

static int cmd_channels(sim *s, sim_buf *out, char **args, int nargs)
{
    (void)args;
    if (nargs)
        return CLI_USAGE;
    static const char fmt[] = "%-64.64s %-32.32s %-7.7s %-30.30s\n";
    sim_buf_printf(out, fmt, "Channel", "Location", "State", "Application(Data)");
    size_t n = 0;
    for (const sim_chan *ch = s->chans; ch; ch = ch->next, n++) {
        char loc[160], app[256];
        if (ch->exten[0])
            snprintf(loc, sizeof loc, "%s@%s:%d", ch->exten, ch->context, ch->priority);
        else
            snprintf(loc, sizeof loc, "(None)");
        if (ch->app[0])
            snprintf(app, sizeof app, "%s(%s)", ch->app, ch->appdata);
        else
            snprintf(app, sizeof app, "(None)");
        sim_buf_printf(out, fmt, ch->name, loc, sim_state_desc(ch->state), app);
    }
    size_t calls = sim_calls_active(s);
    sim_buf_printf(out, "%zu active channel%s\n", n, n == 1 ? "" : "s");
    sim_buf_printf(out, "%zu active call%s\n", calls, calls == 1 ? "" : "s");
    sim_buf_printf(out, "%u call%s processed\n", s->calls_processed,
                   s->calls_processed == 1 ? "" : "s");
    return CLI_OK;
}

static int cmd_channel(sim *s, sim_buf *out, char **args, int nargs)
{
    if (nargs != 1)
        return CLI_USAGE;
    const sim_chan *ch = sim_chan_find(s, args[0]);
    if (!ch) {
        sim_buf_printf(out, "%s is not a known channel\n", args[0]);
        return CLI_OK;
    }
    char dur[32];
    sim_chan_duration(ch, sim_now_ms(), dur, sizeof dur);
    sim_buf_printf(
        out,
        " -- General --\n           Name: %s\n       UniqueID: %s\n       LinkedID: %s\n"
        "      Caller ID: %s\n Caller ID Name: %s\n          State: %s (%d)\n"
        "  Elapsed Time: %s\n      Bridge ID: %s\n --   PBX   --\n"
        "        Context: %s\n      Extension: %s\n       Priority: %d\n"
        "    Application: %s\n           Data: %s\n",
        ch->name, ch->uniqueid, ch->linkedid, ch->cid_num, ch->cid_name, sim_state_desc(ch->state),
        ch->state, dur, ch->bridge[0] ? ch->bridge : "(Not bridged)", ch->context, ch->exten,
        ch->priority, ch->app[0] ? ch->app : "(None)", ch->appdata[0] ? ch->appdata : "(Empty)");
    return CLI_OK;
}

static int cmp_prio(const void *a, const void *b)
{
    const sim_prio *x = a, *y = b;
    int c = strcmp(x->exten, y->exten);
    return c ? c : x->prio - y->prio;
}

static int cmd_dialplan(sim *s, sim_buf *out, char **args, int nargs)
{
    (void)s;
    if (nargs > 1)
        return CLI_USAGE;
    if (nargs == 1 && strcmp(args[0], "test") != 0) {
        sim_buf_printf(out, "There is no existence of '%s' context\n", args[0]);
        return CLI_FAILURE;
    }
    size_t n;
    const sim_prio *plan = sim_dialplan(&n);
    sim_prio *sorted = sim_xmalloc(n * sizeof *sorted);
    memcpy(sorted, plan, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_prio);
    sim_buf_puts(out, "[ Context 'test' created by 'pbx_config' ]\n");
    int extens = 0;
    for (size_t i = 0; i < n; i++) {
        char name[80] = "", step[256], where[64];
        if (sorted[i].prio == 1) {
            snprintf(name, sizeof name, "'%s' =>", sorted[i].exten);
            extens++;
        }
        snprintf(step, sizeof step, "%d. %s(%s)", sorted[i].prio, sorted[i].app, sorted[i].data);
        snprintf(where, sizeof where, "extensions.conf:%d", sorted[i].line);
        sim_buf_printf(out, "  %-17s %-45s [%s]\n", name, step, where);
    }
    free(sorted);
    sim_buf_printf(out, "\n-= %d extension%s (%zu priorit%s) in 1 context. =-\n", extens,
                   extens == 1 ? "" : "s", n, n == 1 ? "y" : "ies");
    return CLI_OK;
}

static int cmd_hangup(sim *s, sim_buf *out, char **args, int nargs)
{
    if (nargs != 1)
        return CLI_USAGE;
    if (strcasecmp(args[0], "all") == 0) {
        while (s->calls)
            sim_call_hangup(s, s->calls, 16);
        return CLI_OK;
    }
    sim_chan *ch = sim_chan_find(s, args[0]);
    if (!ch) {
        sim_buf_printf(out, "%s is not a known channel\n", args[0]);
        return CLI_OK;
    }
    sim_buf_printf(out, "Requested Hangup on channel '%s'\n", ch->name);
    sim_call_hangup(s, ch->call, 16);
    return CLI_OK;
}

static int cmd_fullybooted(sim *s, sim_buf *out, char **args, int nargs)
{
    (void)s;
    (void)args;
    if (nargs)
        return CLI_USAGE;
    sim_buf_puts(out, "Asterisk has fully booted.\n");
    return CLI_OK;
}

static int cmd_shell(sim *s, sim_buf *out, char **args, int nargs)
{
    (void)s;
    (void)out;
    (void)args;
    (void)nargs;
    return CLI_OK; /* "!" runs a shell on a real server; never here */
}

static const cli_entry table[] = {
    {{"manager", "show", "commands"},
     sim_cli_show_commands,
     "Usage: manager show commands\n\tPrints a listing of all the available Asterisk manager "
     "interface commands.\n"},
    {{"manager", "show", "command"},
     sim_cli_show_command,
     "Usage: manager show command <actionname> [<actionname> [<actionname> [...]]]\n"
     "\tShows the detailed description for a specific Asterisk manager interface command.\n"},
    {{"manager", "show", "events"},
     sim_cli_show_events,
     "Usage: manager show events\n\tPrints a listing of all events pending.\n"},
    {{"manager", "show", "event"},
     sim_cli_show_event,
     "Usage: manager show event <eventname>\n\tProvides a detailed description a Manager "
     "interface event.\n"},
    {{"!"}, cmd_shell, "Usage: !<command>\n       Executes a given shell command\n"},
    {{"core", "show", "version"},
     cmd_version,
     "Usage: core show version\n       Shows Asterisk version information.\n"},
    {{"core", "show", "uptime"},
     cmd_uptime,
     "Usage: core show uptime [seconds]\n       Shows Asterisk uptime information.\n"
     "       The seconds word returns the uptime in seconds only.\n"},
    {{"core", "show", "channels"},
     cmd_channels,
     "Usage: core show channels [concise|verbose|count]\n"
     "       Lists currently defined channels and some information about them.\n"},
    {{"core", "show", "channel"},
     cmd_channel,
     "Usage: core show channel <channel>\n"
     "       Shows lots of information about the specified channel.\n"},
    {{"core", "waitfullybooted"},
     cmd_fullybooted,
     "Usage: core waitfullybooted\n"
     "\tWait until Asterisk has fully booted.\n"},
    {{"dialplan", "show"},
     cmd_dialplan,
     "Usage: dialplan show [[exten@]context]\n       Show dialplan\n"},
    {{"channel", "request", "hangup"},
     cmd_hangup,
     "Usage: channel request hangup <channel>|<all>\n"
     "       Request that a channel be hung up. The hangup takes effect\n"
     "       the next time the driver reads or writes from the channel.\n"
     "       If 'all' is specified instead of a channel name, all channels\n"
     "       will see the hangup request.\n"},
};

static int nwords(const cli_entry *e)
{
    int n = 0;
    while (n < 4 && e->words[n])
        n++;
    return n;
}

/* Asterisk's find_cli(cmds, -1): an exact match, or an entry of the same
 * length that differs only in its last word. */
static int partial_exists(char **argv, int argc)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int n = nwords(&table[i]);
        if (n != argc)
            continue;
        int k = 0;
        while (k < n - 1 && strcasecmp(argv[k], table[i].words[k]) == 0)
            k++;
        if (k == n - 1)
            return 1;
    }
    return 0;
}

static void find_best(char **argv, int argc, char *buf, size_t n)
{
    int upto = argc;
    for (int x = 0; x < argc; x++) {
        if (!partial_exists(argv, x + 1)) {
            upto = x + 1;
            break;
        }
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < upto && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? " " : "", argv[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static const cli_entry *lookup(char **argv, int argc, int *consumed)
{
    const cli_entry *best = NULL;
    int best_n = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int n = nwords(&table[i]);
        if (n > argc || n <= best_n)
            continue;
        int k = 0;
        while (k < n && strcasecmp(argv[k], table[i].words[k]) == 0)
            k++;
        if (k == n) {
            best = &table[i];
            best_n = n;
        }
    }
    *consumed = best_n;
    return best;
}

static int blacklisted(char **argv, int argc)
{
    if (argc >= 2 && strcasecmp(argv[0], "module") == 0 &&
        (strcasecmp(argv[1], "load") == 0 || strcasecmp(argv[1], "unload") == 0))
        return 1;
    return argc >= 2 && strcasecmp(argv[0], "restart") == 0 &&
           strcasecmp(argv[1], "gracefully") == 0;
}

void sim_action_command(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *cmd = ami_packet_get(p, "Command");
    if (!cmd || !*cmd) {
        sim_send_error(c, id, "No command provided");
        return;
    }
    char *copy = sim_xstrdup(cmd);
    char *argv[MAX_WORDS];
    int argc = 0;
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t", &save); w && argc < MAX_WORDS;
         w = strtok_r(NULL, " \t", &save))
        argv[argc++] = w;
    if (blacklisted(argv, argc)) {
        sim_send_error(c, id, "Command blacklisted");
        free(copy);
        return;
    }
    sim_buf out = {0};
    int consumed = 0, res;
    const cli_entry *e = argc ? lookup(argv, argc, &consumed) : NULL;
    if (!e) {
        char best[256];
        find_best(argv, argc, best, sizeof best);
        sim_buf_printf(&out,
                       "No such command '%s' (type 'core show help %s' for other possible "
                       "commands)\n",
                       cmd, best);
        res = CLI_FAILURE;
    } else {
        res = e->fn(c->sim, &out, argv + consumed, argc - consumed);
        if (res == CLI_USAGE)
            sim_buf_puts(&out, e->usage);
    }
    free(copy);

    sim_buf b = {0};
    sim_resp_start(&b, res == CLI_OK ? "Success" : "Error", id);
    sim_hdr(&b, "Message", "Command output follows");
    /* One Output: per line; the CLI's final newline is dropped, and no
     * output at all still gives one empty Output: header. */
    const char *text = sim_buf_cstr(&out);
    size_t len = sim_buf_pending(&out);
    if (len && text[len - 1] == '\n')
        len--;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            sim_buf_puts(&b, "Output: ");
            sim_buf_append(&b, text + start, i - start);
            sim_buf_append(&b, "\r\n", 2);
            start = i + 1;
        }
    }
    sim_buf_append(&b, "\r\n", 2);
    sim_conn_send_response(c, &b);
    sim_buf_free(&b);
    sim_buf_free(&out);
}
