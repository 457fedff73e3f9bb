/*
 * The parser of the server's own documentation: the Output lines of
 * `manager show command NAME` and `manager show event NAME` (Asterisk's
 * manager.c layout: a title line, then [Synopsis], [Syntax] with required
 * headers written `Key: <value>` and optional ones `[Key:] <value>`,
 * [Arguments], [Privilege], [List Responses], [Final Response], ...).
 *
 * A pure function over the lines: no I/O, bounded input, every line
 * hostile (the server may be anything). Used by `ami describe`, `ami
 * action --check`, `ami shell` (completion, help, the missing-header
 * check) and fuzzed by fuzz/fuzz_docs.c.
 */
#ifndef AMI_TOOL_DOCS_PARSE_H
#define AMI_TOOL_DOCS_PARSE_H

#include <stddef.h>

/* Limits: a documentation answer beyond them is refused (TOOL_DOC_BAD),
 * not truncated, so a half-read syntax never passes for the whole one.
 * The largest real answer (Originate) has about 110 lines. */
#define TOOL_DOC_MAX_LINES  4096
#define TOOL_DOC_MAX_LINE   2048
#define TOOL_DOC_MAX_NAME   80
#define TOOL_DOC_MAX_PARAMS 256
#define TOOL_DOC_MAX_ITEMS  256 /* privilege, list events, see also, arguments */

typedef struct tool_doc_param {
    char *name;
    int required;
} tool_doc_param;

typedef struct tool_doc_arg {
    char *name;
    char *text; /* the indented lines, joined with spaces */
} tool_doc_arg;

typedef struct tool_doc_list {
    char **v;
    size_t n;
} tool_doc_list;

typedef struct tool_doc {
    int is_event;
    char *name;             /* as the title spells it */
    char *synopsis;         /* "" when absent */
    char *description;      /* lines joined with '\n'; "" when absent */
    char *provided_by;      /* "" when absent */
    char *since;            /* "" when absent */
    tool_doc_param *params; /* [Syntax] order, without Action:/Event: */
    size_t nparams;
    tool_doc_arg *args; /* [Arguments], in order */
    size_t nargs;
    tool_doc_list privilege;   /* "originate", "all" */
    tool_doc_list list_events; /* [List Responses] event names */
    tool_doc_list see_also;
    char *final_event; /* [Final Response] event name, NULL when none */
} tool_doc;

enum tool_doc_status {
    TOOL_DOC_OK = 0,
    TOOL_DOC_EMPTY = 1, /* the server printed nothing: no such action/event */
    TOOL_DOC_BAD = -1,  /* not documentation in the known layout (*why says how) */
    TOOL_DOC_NOMEM = -2
};

/* Parse n lines (lines[i] of lens[i] bytes, not NUL-terminated, may hold
 * any byte). is_event: the answer to `manager show event` (the title says
 * "Manager Event"). On TOOL_DOC_OK *out holds the result (free with
 * tool_doc_free); on any other status *out is zeroed and, for
 * TOOL_DOC_BAD, *why (if why is not NULL) names the problem (a static
 * string). */
int tool_doc_parse(const char *const *lines, const size_t *lens, size_t n, int is_event,
                   tool_doc *out, const char **why);
void tool_doc_free(tool_doc *d);

/* The parameter named `name` (ASCII case-insensitive), or NULL. */
const tool_doc_param *tool_doc_param_find(const tool_doc *d, const char *name, size_t len);
/* The argument text of `name`, or NULL. */
const char *tool_doc_arg_text(const tool_doc *d, const char *name);

#endif
