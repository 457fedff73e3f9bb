/* The `json` format's packet objects, built with jansson. jansson checks
 * UTF-8 and would refuse network bytes, so strings are sanitized first. */
#include "json_out.h"
#include "jsonstr.h"
#include "tool.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *make_string(tool_buf *scratch, const char *s, size_t n)
{
    scratch->len = 0;
    tool_utf8_sanitize(scratch, s, n);
    json_t *j = json_stringn(scratch->p ? scratch->p : "", scratch->len);
    if (!j)
        tool_oom();
    return j;
}

static json_t *values_array(tool_buf *scratch, const tool_keygroup *kg, const ami_packet *p,
                            const tool_kgroup *grp, json_t *val)
{
    if (!val && !(val = json_array()))
        tool_oom();
    for (size_t i = grp->first; i != (size_t)-1; i = kg->next[i]) {
        const char *v;
        size_t vlen;
        ami_packet_header(p, i, NULL, NULL, &v, &vlen);
        if (json_array_append_new(val, make_string(scratch, v, vlen)) != 0)
            tool_oom();
    }
    return val;
}

/* The leading "Server" member of a tagged packet (tool_out_packet_tagged):
 * the tag, then the packet's own Server values unless they are dropped. */
static size_t add_tag(json_t *obj, tool_buf *scratch, const tool_keygroup *kg, const ami_packet *p,
                      const tool_json_opts *jo)
{
    size_t own = tool_keygroup_server(kg);
    json_t *val = make_string(scratch, jo->tag, strlen(jo->tag));
    if (own != (size_t)-1 && !jo->drop_own) {
        json_t *arr = json_array();
        if (!arr || json_array_append_new(arr, val) != 0)
            tool_oom();
        val = values_array(scratch, kg, p, &kg->groups[own], arr);
    }
    if (json_object_set_new_nocheck(obj, "Server", val) != 0)
        tool_oom();
    return own;
}

void tool_packet_json(tool_buf *out, tool_keygroup *kg, const ami_packet *p, const char *array_key)
{
    tool_json_opts jo = {array_key, NULL, 0};
    tool_packet_json_ex(out, kg, p, &jo);
}

void tool_packet_json_ex(tool_buf *out, tool_keygroup *kg, const ami_packet *p,
                         const tool_json_opts *jo)
{
    tool_buf scratch = {0};
    json_t *obj = json_object();
    if (!obj)
        tool_oom();
    const char *array_key = jo ? jo->array_key : NULL;
    tool_keygroup_build(kg, p);
    size_t own = jo && jo->tag ? add_tag(obj, &scratch, kg, p, jo) : (size_t)-1;
    for (size_t g = 0; g < kg->ngroups; g++) {
        if (g == own)
            continue;
        const tool_kgroup *grp = &kg->groups[g];
        const char *key = kg->keys.p + grp->key_off;
        int arr = grp->count > 1 || (array_key && strlen(array_key) == grp->key_len &&
                                     memcmp(array_key, key, grp->key_len) == 0);
        json_t *val;
        if (arr) {
            val = values_array(&scratch, kg, p, grp, NULL);
        } else {
            const char *v;
            size_t vlen;
            ami_packet_header(p, grp->first, NULL, NULL, &v, &vlen);
            val = make_string(&scratch, v, vlen);
        }
        /* Keys are valid UTF-8 already; setn keeps embedded NUL bytes. */
        if (json_object_setn_new_nocheck(obj, key, grp->key_len, val) != 0)
            tool_oom();
    }
    tool_buf_free(&scratch);
    size_t need = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    if (need == 0)
        tool_oom();
    tool_buf_reserve(out, need);
    if (json_dumpb(obj, out->p + out->len, need, JSON_COMPACT) != need)
        tool_oom();
    out->len += need;
    json_decref(obj);
}
