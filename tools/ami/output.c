/* Output writer: framing of the three formats and write-error tracking. */
#include "output.h"
#include "jsonstr.h"

#include <errno.h>
#include <string.h>

void tool_out_init(tool_out *o, tool_format fmt, FILE *f)
{
    memset(o, 0, sizeof(*o));
    o->fmt = fmt;
    o->f = f;
}

void tool_out_raw(tool_out *o, const char *data, size_t n)
{
    if (o->write_errno || n == 0)
        return;
    if (fwrite(data, 1, n, o->f) != n)
        o->write_errno = errno ? errno : EIO;
}

void tool_out_begin(tool_out *o)
{
    if (o->began)
        return;
    o->began = 1;
    if (o->fmt == TOOL_FORMAT_JSON)
        tool_out_raw(o, "[", 1);
}

static void format_text(tool_buf *b, const ami_packet *p)
{
    size_t n = ami_packet_count(p);
    if (ami_packet_kind_of(p) == AMI_PACKET_BANNER && n == 1) {
        const char *v;
        size_t vlen;
        ami_packet_header(p, 0, NULL, NULL, &v, &vlen);
        tool_buf_add(b, v, vlen);
        tool_buf_addc(b, '\n');
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t klen, vlen;
        ami_packet_header(p, i, &k, &klen, &v, &vlen);
        tool_buf_reserve(b, klen + vlen + 3);
        tool_buf_add(b, k, klen);
        tool_buf_add(b, ": ", 2);
        tool_buf_add(b, v, vlen);
        tool_buf_addc(b, '\n');
    }
    tool_buf_addc(b, '\n');
}

void tool_packet_ndjson(tool_buf *out, tool_keygroup *kg, const ami_packet *p,
                        const char *array_key)
{
    tool_keygroup_build(kg, p);
    tool_buf_addc(out, '{');
    for (size_t g = 0; g < kg->ngroups; g++) {
        const tool_kgroup *grp = &kg->groups[g];
        const char *key = kg->keys.p + grp->key_off;
        if (g)
            tool_buf_addc(out, ',');
        tool_json_string(out, key, grp->key_len);
        tool_buf_addc(out, ':');
        int arr = grp->count > 1 || (array_key && strlen(array_key) == grp->key_len &&
                                     memcmp(array_key, key, grp->key_len) == 0);
        if (arr)
            tool_buf_addc(out, '[');
        size_t i = grp->first, nth = 0;
        while (i != (size_t)-1) {
            const char *v;
            size_t vlen;
            ami_packet_header(p, i, NULL, NULL, &v, &vlen);
            if (nth++)
                tool_buf_addc(out, ',');
            tool_json_string(out, v, vlen);
            i = kg->next[i];
        }
        if (arr)
            tool_buf_addc(out, ']');
    }
    tool_buf_addc(out, '}');
}

void tool_out_packet(tool_out *o, const ami_packet *p)
{
    tool_out_begin(o);
    o->buf.len = 0;
    switch (o->fmt) {
    case TOOL_FORMAT_TEXT:
        format_text(&o->buf, p);
        break;
    case TOOL_FORMAT_NDJSON:
        tool_packet_ndjson(&o->buf, &o->kg, p, o->array_key);
        tool_buf_addc(&o->buf, '\n');
        break;
    case TOOL_FORMAT_JSON:
        tool_buf_adds(&o->buf, o->count ? ",\n" : "\n");
        tool_packet_json(&o->buf, &o->kg, p, o->array_key);
        break;
    }
    tool_out_raw(o, o->buf.p, o->buf.len);
    o->count++;
}

void tool_out_flush(tool_out *o)
{
    if (!o->write_errno && fflush(o->f) != 0)
        o->write_errno = errno ? errno : EIO;
}

int tool_out_finish(tool_out *o)
{
    tool_out_begin(o);
    if (o->fmt == TOOL_FORMAT_JSON)
        tool_out_raw(o, o->count ? "\n]\n" : "]\n", o->count ? 3 : 2);
    tool_out_flush(o);
    int err = o->write_errno;
    tool_buf_free(&o->buf);
    tool_keygroup_free(&o->kg);
    if (err == 0 || err == EPIPE)
        return TOOL_EXIT_OK;
    tool_err("cannot write the output: %s — check the disk or the pipe stdout goes to",
             strerror(err));
    return TOOL_EXIT_CONNECTION;
}
