/*
 * `manager show command(s)` / `manager show event(s)`. Where the capture
 * holds the real server's answer (Originate, QueueAdd, the Hangup and
 * QueueCallerJoin events, both lists) the sim gives exactly those bytes;
 * the other actions the sim implements get documentation in the same
 * layout built from their synopsis, write class and the headers below.
 * An unknown action prints nothing, as manager.c does.
 */
#include "docs.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { DOC_OK = 0, DOC_USAGE = 2 };

/* Headers of the sim's own actions: required ones, then optional ones
 * ("" when none), comma-separated, in Asterisk's order. */
typedef struct doc_params {
    const char *action;
    const char *required;
    const char *optional;
} doc_params;

static const doc_params params[] = {
    {"Login", "Username", "Secret,AuthType,Key,Events"},
    {"Challenge", "AuthType", ""},
    {"Logoff", "", ""},
    {"Ping", "", ""},
    {"Events", "EventMask", ""},
    {"Filter", "", "Operation,Filter"},
    {"ListCommands", "", ""},
    {"Command", "Command", ""},
    {"Getvar", "Variable", "Channel"},
    {"Setvar", "Variable,Value", "Channel"},
    {"UserEvent", "UserEvent", "Header1"},
    {"WaitEvent", "", "Timeout"},
    {"Hangup", "Channel", "Cause"},
    {"CoreShowChannels", "", ""},
    {"Status", "", "Channel,Variables,AllVariables"},
    {"CoreSettings", "", ""},
    {"CoreStatus", "", ""},
    {"GetConfig", "Filename", "Category,Filter"},
};

static const sim_doc_text *captured(const char *kind, const char *name)
{
    char want[160];
    snprintf(want, sizeof want, "manager show %s %s", kind, name);
    for (size_t i = 0; i < sim_doc_capture_count; i++)
        if (strcasecmp(sim_doc_capture[i].command, want) == 0 && sim_doc_capture[i].text[0])
            return &sim_doc_capture[i];
    return NULL;
}

static const sim_doc_text *captured_list(const char *command)
{
    for (size_t i = 0; i < sim_doc_capture_count; i++)
        if (strcmp(sim_doc_capture[i].command, command) == 0)
            return &sim_doc_capture[i];
    return NULL;
}

static void add_names(sim_buf *out, const char *list, int required)
{
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (required)
            sim_buf_printf(out, "%.*s: <value>\n", (int)n, p);
        else
            sim_buf_printf(out, "[%.*s:] <value>\n", (int)n, p);
        p += n;
        if (*p == ',')
            p++;
    }
}

/* Layout of manager.c's handle_showmancmd for an action without XML
 * arguments text. */
static void built(sim_buf *out, const sim_action_def *a, const doc_params *dp)
{
    char priv[256];
    if (a->authority)
        sim_perm_str(a->authority, priv, sizeof priv);
    else
        snprintf(priv, sizeof priv, "<none>");
    sim_buf_printf(out,
                   "\n  -= Info about Manager Command '%s' =- \n\n[Synopsis]\n%s \n\n"
                   "[Provided By]\nbuiltin\n\n[Since]\nNot available\n\n[Description]\n"
                   "Not available\n\n[Syntax]\nAction: %s\n[ActionID:] <value>\n",
                   a->name, a->synopsis, a->name);
    add_names(out, dp->required, 1);
    add_names(out, dp->optional, 0);
    sim_buf_printf(out,
                   "\n[Arguments]\nNot available\n\n[Privilege]\n%s\n\n[See Also]\n"
                   "Not available\n\n[List Responses]\nNone\n\n[End List Responses]\n\n"
                   "[Final Response]\nNone\n\n[End Final Response]\n",
                   priv);
}

int sim_cli_show_commands(sim *s, sim_buf *out, char **args, int nargs)
{
    (void)s;
    (void)args;
    if (nargs)
        return DOC_USAGE;
    const sim_doc_text *t = captured_list("manager show commands");
    if (t)
        sim_buf_puts(out, t->text);
    return DOC_OK;
}

int sim_cli_show_command(sim *s, sim_buf *out, char **args, int nargs)
{
    (void)s;
    if (nargs < 1)
        return DOC_USAGE;
    size_t n;
    const sim_action_def *defs = sim_actions(&n);
    /* manager.c prints each named action in turn. */
    for (int i = 0; i < nargs; i++) {
        const sim_doc_text *t = captured("command", args[i]);
        if (t) {
            sim_buf_puts(out, t->text);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            if (strcasecmp(defs[k].name, args[i]) != 0)
                continue;
            for (size_t j = 0; j < sizeof params / sizeof params[0]; j++)
                if (strcmp(params[j].action, defs[k].name) == 0)
                    built(out, &defs[k], &params[j]);
        }
    }
    return DOC_OK;
}

int sim_cli_show_events(sim *s, sim_buf *out, char **args, int nargs)
{
    (void)s;
    (void)args;
    if (nargs)
        return DOC_USAGE;
    const sim_doc_text *t = captured_list("manager show events");
    if (t)
        sim_buf_puts(out, t->text);
    return DOC_OK;
}

int sim_cli_show_event(sim *s, sim_buf *out, char **args, int nargs)
{
    (void)s;
    if (nargs != 1)
        return DOC_USAGE;
    const sim_doc_text *t = captured("event", args[0]);
    if (t)
        sim_buf_puts(out, t->text);
    else
        sim_buf_printf(out, "Could not find event '%s'\n", args[0]);
    return DOC_OK;
}
