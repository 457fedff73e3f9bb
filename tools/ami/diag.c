/*
 * Diagnostics shared by every part of the tool (the subcommands, the TLS
 * and connection options, main): messages on stderr, the usage error, the
 * allocation failure, and the exit status of a libami error code. Kept
 * apart from main.c so that no module depends on the program's entry point.
 */
#include "diag.h"
#include "tool.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void tool_err(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One write per message, so lines do not interleave with other output;
     * CR/LF from a hostile server message must not forge extra lines. */
    for (char *c = msg; *c; c++)
        if (*c == '\r' || *c == '\n')
            *c = ' ';
    fflush(stdout);
    fprintf(stderr, "ami: %s\n", msg);
}

_Noreturn void tool_oom(void)
{
    fflush(stdout);
    fputs("ami: out of memory\n", stderr);
    exit(TOOL_EXIT_CONNECTION);
}

void *tool_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        tool_oom();
    return q;
}

int tool_usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tool_err("%s — see ami --help", msg);
    return TOOL_EXIT_USAGE;
}

int tool_exit_for(int code)
{
    switch (code) {
    case AMI_OK:
        return TOOL_EXIT_OK;
    case AMI_ERR_ACTION_FAILED:
        return TOOL_EXIT_ACTION_FAILED;
    case AMI_ERR_INVALID:
    case AMI_ERR_INJECTION:
    case AMI_ERR_BAD_KEY:
    case AMI_ERR_TOO_LONG:
    case AMI_ERR_TOO_MANY:
    case AMI_ERR_UNSUPPORTED:
        return TOOL_EXIT_USAGE;
    case AMI_ERR_AUTH:
        return TOOL_EXIT_AUTH;
    case AMI_ERR_TIMEOUT:
        return TOOL_EXIT_TIMEOUT;
    default:
        return TOOL_EXIT_CONNECTION;
    }
}
