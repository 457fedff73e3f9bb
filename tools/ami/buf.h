/* A growable byte buffer reused across packets, so output needs no
 * allocation per header. */
#ifndef AMI_TOOL_BUF_H
#define AMI_TOOL_BUF_H

#include <stddef.h>

typedef struct tool_buf {
    char *p;
    size_t len;
    size_t cap;
} tool_buf;

void tool_buf_reserve(tool_buf *b, size_t extra);
void tool_buf_add(tool_buf *b, const void *data, size_t n);
void tool_buf_addc(tool_buf *b, char c);
void tool_buf_adds(tool_buf *b, const char *s);
void tool_buf_free(tool_buf *b);

#endif
