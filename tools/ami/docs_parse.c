/* Parser of `manager show command|event` output; see docs_parse.h. */
#include "docs_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum section {
    SEC_NONE,
    SEC_SYNOPSIS,
    SEC_PROVIDED,
    SEC_SINCE,
    SEC_DESCRIPTION,
    SEC_SYNTAX,
    SEC_ARGUMENTS,
    SEC_PRIVILEGE,
    SEC_SEE_ALSO,
    SEC_LIST,
    SEC_FINAL,
    SEC_OTHER /* a section this parser does not use */
};

static const struct {
    const char *name;
    enum section sec;
} sections[] = {
    {"Synopsis", SEC_SYNOPSIS},       {"Provided By", SEC_PROVIDED}, {"Since", SEC_SINCE},
    {"Description", SEC_DESCRIPTION}, {"Syntax", SEC_SYNTAX},        {"Arguments", SEC_ARGUMENTS},
    {"Privilege", SEC_PRIVILEGE},     {"See Also", SEC_SEE_ALSO},    {"List Responses", SEC_LIST},
    {"Final Response", SEC_FINAL},
};

typedef struct parse {
    tool_doc *d;
    int nomem;
    const char *why;
    int saw_syntax;
    int saw_syntax_head; /* the Action:/Event: line */
    int list_done, final_done;
    tool_doc_arg *cur_arg;
} parse;

typedef struct span {
    const char *p;
    size_t n;
} span;

static span trim(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    span s = {p, n};
    return s;
}

static int is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static int valid_name(span s)
{
    if (s.n == 0 || s.n > TOOL_DOC_MAX_NAME)
        return 0;
    for (size_t i = 0; i < s.n; i++)
        if (!is_name_char(s.p[i]))
            return 0;
    return 1;
}

static char *dup_span(parse *ps, span s)
{
    char *r = malloc(s.n + 1);
    if (!r) {
        ps->nomem = 1;
        return NULL;
    }
    memcpy(r, s.p, s.n);
    r[s.n] = '\0';
    return r;
}

/* Append s to *dst with separator sep (none when *dst is empty). */
static void append(parse *ps, char **dst, span s, char sep)
{
    size_t old = *dst ? strlen(*dst) : 0;
    size_t add = s.n + (old ? 1 : 0);
    char *r = realloc(*dst, old + add + 1);
    if (!r) {
        ps->nomem = 1;
        return;
    }
    if (old)
        r[old++] = sep;
    memcpy(r + old, s.p, s.n);
    r[old + s.n] = '\0';
    *dst = r;
}

static void list_add(parse *ps, tool_doc_list *l, span s)
{
    if (l->n >= TOOL_DOC_MAX_ITEMS) {
        ps->why = "too many items in a section";
        return;
    }
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v) {
        ps->nomem = 1;
        return;
    }
    l->v = v;
    char *c = dup_span(ps, s);
    if (c)
        l->v[l->n++] = c;
}

/* "a, b,c" into the list; "Not available" and "None" mean nothing. */
static void add_csv(parse *ps, tool_doc_list *l, span line)
{
    if ((line.n == 13 && memcmp(line.p, "Not available", 13) == 0) ||
        (line.n == 4 && memcmp(line.p, "None", 4) == 0))
        return;
    size_t i = 0;
    while (i <= line.n && !ps->why && !ps->nomem) {
        size_t j = i;
        while (j < line.n && line.p[j] != ',')
            j++;
        span item = trim(line.p + i, j - i);
        if (item.n)
            list_add(ps, l, item);
        i = j + 1;
    }
}

/* "[Word Word]": a section header (letters and spaces only, so the
 * optional-header lines "[Key:] <value>" of [Syntax] never match). */
static int section_of(span s, enum section *sec, int *is_end)
{
    if (s.n < 3 || s.p[0] != '[' || s.p[s.n - 1] != ']')
        return 0;
    span in = {s.p + 1, s.n - 2};
    for (size_t i = 0; i < in.n; i++) {
        char c = in.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == ' '))
            return 0;
    }
    *is_end = in.n > 4 && memcmp(in.p, "End ", 4) == 0;
    *sec = SEC_OTHER;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (strlen(sections[i].name) == in.n && memcmp(sections[i].name, in.p, in.n) == 0)
            *sec = sections[i].sec;
    return 1;
}

static int starts(span s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

/* "  -= Info about Manager Command 'X' =- " -> X */
static int title_of(span s, int is_event, span *name)
{
    const char *pre =
        is_event ? "-= Info about Manager Event '" : "-= Info about Manager Command '";
    if (!starts(s, pre))
        return 0;
    size_t off = strlen(pre);
    if (s.n < off + 4 || memcmp(s.p + s.n - 4, "' =-", 4) != 0)
        return 0;
    name->p = s.p + off;
    name->n = s.n - off - 4;
    return 1;
}

static void syntax_line(parse *ps, span line)
{
    tool_doc *d = ps->d;
    if (!line.n)
        return;
    if (!ps->saw_syntax_head) {
        const char *head = d->is_event ? "Event: " : "Action: ";
        if (!starts(line, head)) {
            ps->why = "the [Syntax] section does not start with the action or event line";
            return;
        }
        span nm = trim(line.p + strlen(head), line.n - strlen(head));
        if (nm.n != strlen(d->name) || strncasecmp(nm.p, d->name, nm.n) != 0) {
            ps->why = "the [Syntax] section names another action or event";
            return;
        }
        ps->saw_syntax_head = 1;
        return;
    }
    int required = 1;
    span key;
    if (line.p[0] == '[') {
        const char *close = memchr(line.p, ']', line.n);
        if (!close || close - line.p < 3 || close[-1] != ':')
            return; /* not a header line: ignored */
        key.p = line.p + 1;
        key.n = (size_t)(close - line.p) - 2;
        required = 0;
    } else {
        const char *colon = memchr(line.p, ':', line.n);
        if (!colon)
            return;
        key.p = line.p;
        key.n = (size_t)(colon - line.p);
    }
    if (!valid_name(key)) {
        ps->why = "a header name in [Syntax] is not a name";
        return;
    }
    if (tool_doc_param_find(d, key.p, key.n))
        return; /* a repeat: the first one counts */
    if (d->nparams >= TOOL_DOC_MAX_PARAMS) {
        ps->why = "too many headers in [Syntax]";
        return;
    }
    tool_doc_param *v = realloc(d->params, (d->nparams + 1) * sizeof *v);
    if (!v) {
        ps->nomem = 1;
        return;
    }
    d->params = v;
    char *nm = dup_span(ps, key);
    if (!nm)
        return;
    d->params[d->nparams].name = nm;
    d->params[d->nparams].required = required;
    d->nparams++;
}

static void argument_line(parse *ps, span raw, span line)
{
    tool_doc *d = ps->d;
    if (!line.n)
        return;
    if (raw.p[0] != ' ' && raw.p[0] != '\t') {
        /* An argument's name, at the start of the line. */
        if (!valid_name(line)) {
            ps->cur_arg = NULL; /* prose the parser does not know: skipped */
            return;
        }
        if (d->nargs >= TOOL_DOC_MAX_ITEMS) {
            ps->why = "too many arguments";
            return;
        }
        tool_doc_arg *v = realloc(d->args, (d->nargs + 1) * sizeof *v);
        if (!v) {
            ps->nomem = 1;
            return;
        }
        d->args = v;
        char *nm = dup_span(ps, line);
        if (!nm)
            return;
        d->args[d->nargs].name = nm;
        d->args[d->nargs].text = NULL;
        ps->cur_arg = &d->args[d->nargs++];
        return;
    }
    if (ps->cur_arg)
        append(ps, &ps->cur_arg->text, line, ' ');
}

static void event_item(parse *ps, span line, int final)
{
    tool_doc *d = ps->d;
    if (!line.n || (line.n == 4 && memcmp(line.p, "None", 4) == 0))
        return;
    span nm;
    if (starts(line, "Event: "))
        nm = trim(line.p + 7, line.n - 7);
    else if (title_of(line, 1, &nm))
        ;
    else if (valid_name(line))
        nm = line;
    else
        return; /* the fields of a documented list event */
    if (!valid_name(nm))
        return;
    if (final) {
        if (!d->final_event)
            d->final_event = dup_span(ps, nm);
        return;
    }
    for (size_t i = 0; i < d->list_events.n; i++)
        if (strlen(d->list_events.v[i]) == nm.n && memcmp(d->list_events.v[i], nm.p, nm.n) == 0)
            return;
    list_add(ps, &d->list_events, nm);
}

static int set_empty(parse *ps, char **field)
{
    if (*field)
        return 0;
    *field = calloc(1, 1);
    if (!*field)
        ps->nomem = 1;
    return 0;
}

int tool_doc_parse(const char *const *lines, const size_t *lens, size_t n, int is_event,
                   tool_doc *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (why)
        *why = NULL;
    parse ps;
    memset(&ps, 0, sizeof ps);
    ps.d = out;
    out->is_event = is_event;
    if (n > TOOL_DOC_MAX_LINES) {
        if (why)
            *why = "the answer has too many lines";
        return TOOL_DOC_BAD;
    }
    size_t i = 0;
    int nonblank = 0;
    span name = {NULL, 0};
    /* Up to the title; an event's answer starts with "Event: NAME". */
    for (; i < n; i++) {
        if (lens[i] > TOOL_DOC_MAX_LINE || memchr(lines[i], '\0', lens[i])) {
            if (why)
                *why = lens[i] > TOOL_DOC_MAX_LINE ? "a line is too long" : "a line holds a NUL";
            return TOOL_DOC_BAD;
        }
        span s = trim(lines[i], lens[i]);
        if (s.n)
            nonblank++;
        /* manager.c's answer for an event it does not know. */
        if (is_event && nonblank == 1 && starts(s, "Could not find event '"))
            return TOOL_DOC_EMPTY;
        if (title_of(s, is_event, &name)) {
            i++;
            break;
        }
        if (nonblank > 2)
            break;
    }
    if (!name.p) {
        if (nonblank == 0)
            return TOOL_DOC_EMPTY;
        if (why)
            *why = "no '-= Info about Manager ... =-' title";
        return TOOL_DOC_BAD;
    }
    if (!valid_name(name)) {
        if (why)
            *why = "the title's name is not an action or event name";
        return TOOL_DOC_BAD;
    }
    out->name = dup_span(&ps, name);
    enum section sec = SEC_NONE;
    for (; i < n && !ps.why && !ps.nomem; i++) {
        if (lens[i] > TOOL_DOC_MAX_LINE || memchr(lines[i], '\0', lens[i])) {
            ps.why = lens[i] > TOOL_DOC_MAX_LINE ? "a line is too long" : "a line holds a NUL";
            break;
        }
        span raw = {lines[i], lens[i]};
        span s = trim(lines[i], lens[i]);
        enum section next;
        int is_end;
        if (section_of(s, &next, &is_end)) {
            if (is_end) {
                if (sec == SEC_LIST)
                    ps.list_done = 1;
                if (sec == SEC_FINAL)
                    ps.final_done = 1;
                sec = SEC_NONE;
                continue;
            }
            sec = next;
            if (sec == SEC_SYNTAX) {
                if (ps.saw_syntax) {
                    ps.why = "two [Syntax] sections";
                    break;
                }
                ps.saw_syntax = 1;
            }
            ps.cur_arg = NULL;
            continue;
        }
        switch (sec) {
        case SEC_SYNOPSIS:
            if (s.n)
                append(&ps, &out->synopsis, s, ' ');
            break;
        case SEC_PROVIDED:
            if (s.n)
                append(&ps, &out->provided_by, s, ' ');
            break;
        case SEC_SINCE:
            if (s.n)
                append(&ps, &out->since, s, ' ');
            break;
        case SEC_DESCRIPTION:
            if (s.n || out->description)
                append(&ps, &out->description, s, '\n');
            break;
        case SEC_SYNTAX:
            syntax_line(&ps, s);
            break;
        case SEC_ARGUMENTS:
            argument_line(&ps, raw, s);
            break;
        case SEC_PRIVILEGE:
            if (s.n)
                add_csv(&ps, &out->privilege, s);
            break;
        case SEC_SEE_ALSO:
            if (s.n)
                add_csv(&ps, &out->see_also, s);
            break;
        case SEC_LIST:
            event_item(&ps, s, 0);
            break;
        case SEC_FINAL:
            event_item(&ps, s, 1);
            break;
        default:
            break;
        }
    }
    if (!ps.why && !ps.nomem && !ps.saw_syntax)
        ps.why = "no [Syntax] section";
    if (!ps.why && !ps.nomem && !ps.saw_syntax_head)
        ps.why = "the [Syntax] section is empty";
    if (out->description) {
        /* Blank lines before the next section are not part of it. */
        size_t l = strlen(out->description);
        while (l && out->description[l - 1] == '\n')
            out->description[--l] = '\0';
    }
    set_empty(&ps, &out->synopsis);
    set_empty(&ps, &out->description);
    set_empty(&ps, &out->provided_by);
    set_empty(&ps, &out->since);
    if (ps.nomem || ps.why) {
        tool_doc_free(out);
        if (ps.nomem)
            return TOOL_DOC_NOMEM;
        if (why)
            *why = ps.why;
        return TOOL_DOC_BAD;
    }
    return TOOL_DOC_OK;
}

static void list_free(tool_doc_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

void tool_doc_free(tool_doc *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->synopsis);
    free(d->description);
    free(d->provided_by);
    free(d->since);
    for (size_t i = 0; i < d->nparams; i++)
        free(d->params[i].name);
    free(d->params);
    for (size_t i = 0; i < d->nargs; i++) {
        free(d->args[i].name);
        free(d->args[i].text);
    }
    free(d->args);
    list_free(&d->privilege);
    list_free(&d->list_events);
    list_free(&d->see_also);
    free(d->final_event);
    memset(d, 0, sizeof *d);
}

const tool_doc_param *tool_doc_param_find(const tool_doc *d, const char *name, size_t len)
{
    for (size_t i = 0; i < d->nparams; i++)
        if (strlen(d->params[i].name) == len && strncasecmp(d->params[i].name, name, len) == 0)
            return &d->params[i];
    return NULL;
}

const char *tool_doc_arg_text(const tool_doc *d, const char *name)
{
    for (size_t i = 0; i < d->nargs; i++)
        if (strcasecmp(d->args[i].name, name) == 0)
            return d->args[i].text ? d->args[i].text : "";
    return NULL;
}
