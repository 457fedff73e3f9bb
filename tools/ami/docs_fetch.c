/* Fetching and printing the server's documentation; see docs_fetch.h. */
#include "docs_fetch.h"

#include "buf.h"
#include "jsonstr.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tool_docs_valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TOOL_DOC_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

void tool_docs_command(int is_event, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "manager show %s %s", is_event ? "event" : "command", name);
}

int tool_docs_fetch(ami_client *c, int is_event, const char *name, int timeout_ms, tool_doc *out,
                    const char **why, int *call_rc, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof *out);
    *call_rc = 0;
    if (errlen)
        errbuf[0] = '\0';
    if (!tool_docs_valid_name(name))
        return TOOL_DOCS_BAD_NAME;
    char cmd[160];
    tool_docs_command(is_event, name, cmd, sizeof cmd);
    ami_action *a = NULL;
    int rc = ami_action_create(&a, "Command");
    if (rc == 0)
        rc = ami_action_add(a, "Command", cmd);
    if (rc == AMI_ERR_NOMEM)
        tool_oom();
    if (rc) {
        ami_action_free(a);
        return TOOL_DOCS_BAD_NAME;
    }
    ami_result *r = NULL;
    rc = ami_client_call(c, a, timeout_ms, &r);
    ami_action_free(a);
    if (rc) {
        *call_rc = rc;
        const char *m =
            r && rc == AMI_ERR_ACTION_FAILED ? ami_result_message(r) : ami_client_errmsg(c);
        snprintf(errbuf, errlen, "%s", m ? m : ami_strerror(rc));
        ami_result_free(r);
        return TOOL_DOCS_CALL_FAILED;
    }
    size_t n = ami_result_output_count(r);
    if (n > TOOL_DOC_MAX_LINES) {
        ami_result_free(r);
        *why = "the answer has too many lines";
        return TOOL_DOC_BAD;
    }
    const char **lines = tool_xrealloc(NULL, (n ? n : 1) * sizeof *lines);
    size_t *lens = tool_xrealloc(NULL, (n ? n : 1) * sizeof *lens);
    for (size_t i = 0; i < n; i++)
        lines[i] = ami_result_output_line(r, i, &lens[i]);
    rc = tool_doc_parse(lines, lens, n, is_event, out, why);
    free(lines);
    free(lens);
    ami_result_free(r);
    if (rc == TOOL_DOC_NOMEM)
        tool_oom();
    return rc;
}

int tool_docs_parse_text(const char *text, size_t len, int is_event, tool_doc *out,
                         const char **why)
{
    size_t n = 0, cap = 0;
    const char **lines = NULL;
    size_t *lens = NULL;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t l = nl ? (size_t)(nl - (text + i)) : len - i;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            lines = tool_xrealloc(lines, cap * sizeof *lines);
            lens = tool_xrealloc(lens, cap * sizeof *lens);
        }
        lines[n] = text + i;
        lens[n++] = l;
        i += l + 1;
        if (n > TOOL_DOC_MAX_LINES)
            break;
    }
    int rc = tool_doc_parse(lines, lens, n, is_event, out, why);
    free(lines);
    free(lens);
    if (rc == TOOL_DOC_NOMEM)
        tool_oom();
    return rc;
}

static json_t *jstr(const char *s)
{
    tool_buf b = {0};
    tool_utf8_sanitize(&b, s, strlen(s));
    json_t *j = json_stringn(b.p ? b.p : "", b.len);
    tool_buf_free(&b);
    if (!j)
        tool_oom();
    return j;
}

static json_t *jlist(const tool_doc_list *l)
{
    json_t *a = json_array();
    if (!a)
        tool_oom();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, jstr(l->v[i]));
    return a;
}

static json_t *to_json(const tool_doc *d)
{
    json_t *o = json_object();
    json_t *req = json_array(), *opt = json_array(), *args = json_object();
    if (!o || !req || !opt || !args)
        tool_oom();
    json_object_set_new(o, d->is_event ? "event" : "action", jstr(d->name));
    json_object_set_new(o, "synopsis", jstr(d->synopsis));
    for (size_t i = 0; i < d->nparams; i++)
        json_array_append_new(d->params[i].required ? req : opt, jstr(d->params[i].name));
    json_object_set_new(o, "required", req);
    json_object_set_new(o, "optional", opt);
    for (size_t i = 0; i < d->nargs; i++)
        if (!json_object_get(args, d->args[i].name))
            json_object_set_new(args, d->args[i].name,
                                jstr(d->args[i].text ? d->args[i].text : ""));
    json_object_set_new(o, "arguments", args);
    if (!d->is_event) {
        json_object_set_new(o, "privilege", jlist(&d->privilege));
        json_object_set_new(o, "list_events", jlist(&d->list_events));
        json_object_set_new(o, "final_event", d->final_event ? jstr(d->final_event) : json_null());
    }
    json_object_set_new(o, "description", jstr(d->description));
    json_object_set_new(o, "provided_by", jstr(d->provided_by));
    json_object_set_new(o, "since", jstr(d->since));
    json_object_set_new(o, "see_also", jlist(&d->see_also));
    return o;
}

/* A value from the server on one terminal line: control bytes shown as
 * '?', so a hostile answer cannot move the cursor or forge lines. */
static void put_safe(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void put_names(FILE *f, const char *label, const tool_doc *d, int required)
{
    int any = 0;
    fprintf(f, "%s:", label);
    for (size_t i = 0; i < d->nparams; i++) {
        if (d->params[i].required != required)
            continue;
        fputc(' ', f);
        put_safe(f, d->params[i].name);
        any = 1;
    }
    fputs(any ? "\n" : " (none)\n", f);
}

static void put_list(FILE *f, const char *label, const tool_doc_list *l)
{
    fprintf(f, "%s:", label);
    for (size_t i = 0; i < l->n; i++) {
        fputs(i ? ", " : " ", f);
        put_safe(f, l->v[i]);
    }
    fputs(l->n ? "\n" : " (none)\n", f);
}

int tool_docs_print(const tool_doc *d, tool_format fmt, FILE *f)
{
    if (fmt != TOOL_FORMAT_TEXT) {
        json_t *o = to_json(d);
        size_t flags = JSON_PRESERVE_ORDER | (fmt == TOOL_FORMAT_JSON ? JSON_INDENT(2) : 0);
        int rc = json_dumpf(o, f, flags);
        json_decref(o);
        fputc('\n', f);
        return rc == 0 && !ferror(f) ? 0 : -1;
    }
    fputs(d->is_event ? "Event " : "Action ", f);
    put_safe(f, d->name);
    if (*d->synopsis) {
        fputs(" — ", f);
        put_safe(f, d->synopsis);
    }
    fputc('\n', f);
    put_names(f, d->is_event ? "Fields" : "Required", d, 1);
    if (!d->is_event)
        put_names(f, "Optional", d, 0);
    if (!d->is_event) {
        put_list(f, "Privilege", &d->privilege);
        put_list(f, "List events", &d->list_events);
        fputs("Final event: ", f);
        put_safe(f, d->final_event ? d->final_event : "(none)");
        fputc('\n', f);
    }
    if (d->nargs) {
        fputs("Arguments:\n", f);
        for (size_t i = 0; i < d->nargs; i++) {
            fputs("  ", f);
            put_safe(f, d->args[i].name);
            fputs("\n      ", f);
            put_safe(f, d->args[i].text ? d->args[i].text : "");
            fputc('\n', f);
        }
    }
    if (d->see_also.n)
        put_list(f, "See also", &d->see_also);
    return ferror(f) ? -1 : 0;
}

size_t tool_docs_missing(const tool_doc *d, char *const *args, int nargs, char *buf, size_t n)
{
    size_t missing = 0, used = 0;
    if (n)
        buf[0] = '\0';
    for (size_t i = 0; i < d->nparams; i++) {
        if (!d->params[i].required)
            continue;
        const char *name = d->params[i].name;
        int found = 0;
        for (int k = 0; k < nargs && !found; k++) {
            const char *eq = strchr(args[k], '=');
            size_t kl = eq ? (size_t)(eq - args[k]) : strlen(args[k]);
            found = kl == strlen(name) && strncasecmp(args[k], name, kl) == 0;
        }
        if (found)
            continue;
        missing++;
        if (used < n) {
            int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", name);
            if (w > 0)
                used += (size_t)w;
        }
    }
    return missing;
}
