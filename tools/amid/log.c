/* Structured one-line logs on stderr: ts=... level=... msg="..." k=v...
 * One fprintf per record, so lines from one process never interleave. */
#include "amid.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

const char *amid_log_clean(char *buf, size_t cap, const char *s)
{
    size_t o = 0;
    if (!cap)
        return "";
    for (; s && *s && o + 1 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        buf[o++] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? '?' : (char)ch;
    }
    buf[o] = '\0';
    return buf;
}

void amid_log(const char *level, const char *msg, const char *fmt, ...)
{
    char fields[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof fields, fmt, ap);
    va_end(ap);
    /* Fields come from format strings of ours with cleaned values; still
     * no raw control byte reaches the log. */
    for (char *p = fields; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = '?';
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "ts=%s.%03dZ level=%s msg=\"%s\"%s%s\n", ts, (int)(tv.tv_usec / 1000), level,
            msg, fields[0] ? " " : "", fields);
}
