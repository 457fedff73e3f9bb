/* Glob filters over packet headers. */
#include "filter.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tool_filter_add(tool_filter *f, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return -1;
    f->v = tool_xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
    f->v[f->n].key = arg;
    f->v[f->n].key_len = (size_t)(eq - arg);
    f->v[f->n].glob = eq + 1;
    f->n++;
    return 0;
}

static int entry_match(const tool_match *m, const ami_packet *p)
{
    size_t n = ami_packet_count(p);
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t klen;
        ami_packet_header(p, i, &k, &klen, &v, NULL);
        /* A value with an embedded NUL is matched up to the NUL: fnmatch
         * works on C strings, and such a value is hostile anyway. */
        if (klen == m->key_len && strncasecmp(k, m->key, klen) == 0 && fnmatch(m->glob, v, 0) == 0)
            return 1;
    }
    return 0;
}

int tool_filter_match(const tool_filter *f, const ami_packet *p)
{
    for (size_t i = 0; i < f->n; i++)
        if (!entry_match(&f->v[i], p))
            return 0;
    return 1;
}

void tool_filter_free(tool_filter *f)
{
    free(f->v);
    f->v = NULL;
    f->n = 0;
}
