/* Byte buffers, allocation that never returns NULL, and the clock. */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *sim_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("ami-sim: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

void *sim_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("ami-sim: out of memory\n", stderr);
        exit(1);
    }
    return q;
}

char *sim_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sim_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

uint64_t sim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void reserve(sim_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    /* Reclaim consumed space before growing: an output buffer that is
     * drained as fast as it fills must not grow without end. */
    if (b->off > 0) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + extra + 1 <= b->cap)
            return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = sim_xrealloc(b->data, cap);
    b->cap = cap;
}

void sim_buf_append(sim_buf *b, const char *s, size_t n)
{
    reserve(b, n);
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    /* Kept NUL-terminated so event text can go straight to regexec(). */
    b->data[b->len] = '\0';
}

void sim_buf_puts(sim_buf *b, const char *s)
{
    sim_buf_append(b, s, strlen(s));
}

void sim_buf_printf(sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sim_hdr(sim_buf *b, const char *key, const char *value)
{
    sim_buf_puts(b, key);
    sim_buf_append(b, ": ", 2);
    sim_buf_puts(b, value ? value : "");
    sim_buf_append(b, "\r\n", 2);
}

void sim_buf_consume(sim_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

size_t sim_buf_pending(const sim_buf *b)
{
    return b->len - b->off;
}

void sim_buf_reset(sim_buf *b)
{
    b->off = b->len = 0;
}

void sim_buf_free(sim_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

const char *sim_buf_cstr(sim_buf *b)
{
    reserve(b, 0);
    b->data[b->len] = '\0';
    return b->data + b->off;
}
