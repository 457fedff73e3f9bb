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

static int is_server_key(const char *k, size_t klen)
{
    return klen == 6 && memcmp(k, "Server", 6) == 0;
}

static void format_text(tool_buf *b, const ami_packet *p, const char *tag, int drop_own)
{
    size_t n = ami_packet_count(p);
    if (ami_packet_kind_of(p) == AMI_PACKET_BANNER && n == 1 && !tag) {
        const char *v;
        size_t vlen;
        ami_packet_header(p, 0, NULL, NULL, &v, &vlen);
        tool_buf_add(b, v, vlen);
        tool_buf_addc(b, '\n');
        return;
    }
    if (tag) {
        tool_buf_adds(b, "Server: ");
        tool_buf_adds(b, tag);
        tool_buf_addc(b, '\n');
    }
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t klen, vlen;
        ami_packet_header(p, i, &k, &klen, &v, &vlen);
        if (tag && drop_own && is_server_key(k, klen))
            continue;
        tool_buf_reserve(b, klen + vlen + 3);
        tool_buf_add(b, k, klen);
        tool_buf_add(b, ": ", 2);
        tool_buf_add(b, v, vlen);
        tool_buf_addc(b, '\n');
    }
    tool_buf_addc(b, '\n');
}

static void ndjson_values(tool_buf *out, const tool_keygroup *kg, const ami_packet *p,
                          const tool_kgroup *grp, int nth)
{
    for (size_t i = grp->first; i != (size_t)-1; i = kg->next[i]) {
        const char *v;
        size_t vlen;
        ami_packet_header(p, i, NULL, NULL, &v, &vlen);
        if (nth++)
            tool_buf_addc(out, ',');
        tool_json_string(out, v, vlen);
    }
}

void tool_packet_ndjson(tool_buf *out, tool_keygroup *kg, const ami_packet *p,
                        const char *array_key)
{
    tool_json_opts jo = {array_key, NULL, 0};
    tool_packet_ndjson_ex(out, kg, p, &jo);
}

void tool_packet_ndjson_ex(tool_buf *out, tool_keygroup *kg, const ami_packet *p,
                           const tool_json_opts *jo)
{
    tool_keygroup_build(kg, p);
    const char *array_key = jo ? jo->array_key : NULL;
    const char *tag = jo ? jo->tag : NULL;
    size_t own = tag ? tool_keygroup_server(kg) : (size_t)-1;
    tool_buf_addc(out, '{');
    int members = 0;
    if (tag) {
        /* The tag leads; the packet's own Server values, if kept, join it
         * as one array, so the object never has a duplicate key. */
        tool_buf_adds(out, "\"Server\":");
        int merge = own != (size_t)-1 && !jo->drop_own;
        if (merge)
            tool_buf_addc(out, '[');
        tool_json_string(out, tag, strlen(tag));
        if (merge) {
            ndjson_values(out, kg, p, &kg->groups[own], 1);
            tool_buf_addc(out, ']');
        }
        members++;
    }
    for (size_t g = 0; g < kg->ngroups; g++) {
        if (g == own)
            continue;
        const tool_kgroup *grp = &kg->groups[g];
        const char *key = kg->keys.p + grp->key_off;
        if (members++)
            tool_buf_addc(out, ',');
        tool_json_string(out, key, grp->key_len);
        tool_buf_addc(out, ':');
        int arr = grp->count > 1 || (array_key && strlen(array_key) == grp->key_len &&
                                     memcmp(array_key, key, grp->key_len) == 0);
        if (arr)
            tool_buf_addc(out, '[');
        ndjson_values(out, kg, p, grp, 0);
        if (arr)
            tool_buf_addc(out, ']');
    }
    tool_buf_addc(out, '}');
}

void tool_out_packet_tagged(tool_out *o, const ami_packet *p, const char *tag, int drop_own)
{
    tool_out_begin(o);
    o->buf.len = 0;
    tool_json_opts jo = {o->array_key, tag, drop_own};
    switch (o->fmt) {
    case TOOL_FORMAT_TEXT:
        format_text(&o->buf, p, tag, drop_own);
        break;
    case TOOL_FORMAT_NDJSON:
        tool_packet_ndjson_ex(&o->buf, &o->kg, p, &jo);
        tool_buf_addc(&o->buf, '\n');
        break;
    case TOOL_FORMAT_JSON:
        tool_buf_adds(&o->buf, o->count ? ",\n" : "\n");
        tool_packet_json_ex(&o->buf, &o->kg, p, &jo);
        break;
    }
    tool_out_raw(o, o->buf.p, o->buf.len);
    o->count++;
}

void tool_out_packet(tool_out *o, const ami_packet *p)
{
    tool_out_packet_tagged(o, p, NULL, 0);
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
