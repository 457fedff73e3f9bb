/* A growable byte buffer reused across packets, so output needs no
 * allocation per header. */
#ifndef AMI_TOOL_BUF_H
#define AMI_TOOL_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct tool_buf {
    char *p;
    size_t len;
    size_t cap;
} tool_buf;

/* Out of line: the rare case of growing. */
void tool_buf_grow(tool_buf *b, size_t extra);
void tool_buf_adds(tool_buf *b, const char *s);
void tool_buf_free(tool_buf *b);

/* Inline: these run for every header of every packet on the output path. */
static inline void tool_buf_reserve(tool_buf *b, size_t extra)
{
    if (b->cap - b->len < extra)
        tool_buf_grow(b, extra);
}

static inline void tool_buf_add(tool_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return;
    tool_buf_reserve(b, n);
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static inline void tool_buf_addc(tool_buf *b, char c)
{
    tool_buf_reserve(b, 1);
    b->p[b->len++] = c;
}

#endif
