/*
 * The tool's diagnostics (diag.c): see there. Every module includes this
 * (through tool.h); it depends on nothing else of the tool.
 */
#ifndef AMI_TOOL_DIAG_H
#define AMI_TOOL_DIAG_H

#include <stddef.h>

/* Print "ami: <message>\n" to stderr. */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "ami: <message> — see ami --help" and return TOOL_EXIT_USAGE. */
int tool_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report an allocation failure and exit (status 3). */
_Noreturn void tool_oom(void);
void *tool_xrealloc(void *p, size_t n);

/* Exit status (enum tool_exit) for a libami error code. */
int tool_exit_for(int code);

#endif
