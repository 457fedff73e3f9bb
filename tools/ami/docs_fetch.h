/*
 * Asking the server for its documentation (`manager show command NAME` or
 * `manager show event NAME` through the Command action) and turning it
 * into a tool_doc, and printing a tool_doc as text or JSON. Shared by
 * `ami describe`, `ami action --check` and `ami shell`.
 */
#ifndef AMI_TOOL_DOCS_FETCH_H
#define AMI_TOOL_DOCS_FETCH_H

#include "docs_parse.h"
#include "tool.h"

#include <stdio.h>

/* tool_doc_parse's statuses, plus: */
#define TOOL_DOCS_CALL_FAILED (-3) /* the Command action failed: see *call_rc */
#define TOOL_DOCS_BAD_NAME    (-4) /* `name` is not an action/event name: nothing sent */

/* 1 when s is a plausible action or event name (letters, digits, _ - .),
 * so it can go into a CLI command line as one word. */
int tool_docs_valid_name(const char *s);

/* The CLI command for the documentation of name into buf. */
void tool_docs_command(int is_event, const char *name, char *buf, size_t n);

/* Run the command on c and parse the answer into *out. Returns a
 * TOOL_DOC_* status or one of the two above; *why explains TOOL_DOC_BAD;
 * *call_rc is the libami error of a failed call (its message is in
 * ami_client_errmsg or the result's, copied into errbuf). */
int tool_docs_fetch(ami_client *c, int is_event, const char *name, int timeout_ms, tool_doc *out,
                    const char **why, int *call_rc, char *errbuf, size_t errlen);

/* Parse already fetched Output lines (one line per '\n' in text). */
int tool_docs_parse_text(const char *text, size_t len, int is_event, tool_doc *out,
                         const char **why);

/* Print as `ami describe` does: text (a readable summary) or JSON (one
 * object; NDJSON is the same object on one line). Returns 0 or -1 when
 * the output cannot be written. */
int tool_docs_print(const tool_doc *d, tool_format fmt, FILE *f);

/* Names of the required headers of d missing from the Key=Value args
 * (keys compared case-insensitively), joined with ", " into buf. Returns
 * how many are missing. */
size_t tool_docs_missing(const tool_doc *d, char *const *args, int nargs, char *buf, size_t n);

/* Say on stderr why a fetch (status st) failed and return the exit
 * status (0 for TOOL_DOC_OK). */
int tool_docs_report(tool_opts *o, ami_client *c, int is_event, const char *name, int st,
                     const char *why, int call_rc, const char *errbuf);

#endif
