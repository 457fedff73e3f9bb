/* Growable buffer; allocation failure ends the tool (see tool_oom). */
#include "buf.h"
#include "tool.h"

#include <stdlib.h>
#include <string.h>

void tool_buf_grow(tool_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra) {
        if (cap > ((size_t)-1) / 2)
            tool_oom();
        cap *= 2;
    }
    b->p = tool_xrealloc(b->p, cap);
    b->cap = cap;
}

void tool_buf_adds(tool_buf *b, const char *s)
{
    tool_buf_add(b, s, strlen(s));
}

void tool_buf_free(tool_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
