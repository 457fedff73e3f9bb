/* The `json` format's packet objects, built with jansson. jansson checks
 * UTF-8 and would refuse network bytes, so strings are sanitized first. */
#include "jsonstr.h"
#include "output.h"

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

void tool_packet_json(tool_buf *out, tool_keygroup *kg, const ami_packet *p, const char *array_key)
{
    tool_buf scratch = {0};
    json_t *obj = json_object();
    if (!obj)
        tool_oom();
    tool_keygroup_build(kg, p);
    for (size_t g = 0; g < kg->ngroups; g++) {
        const tool_kgroup *grp = &kg->groups[g];
        const char *key = kg->keys.p + grp->key_off;
        int arr = grp->count > 1 || (array_key && strlen(array_key) == grp->key_len &&
                                     memcmp(array_key, key, grp->key_len) == 0);
        json_t *val;
        if (arr) {
            val = json_array();
            if (!val)
                tool_oom();
            for (size_t i = grp->first; i != (size_t)-1; i = kg->next[i]) {
                const char *v;
                size_t vlen;
                ami_packet_header(p, i, NULL, NULL, &v, &vlen);
                if (json_array_append_new(val, make_string(&scratch, v, vlen)) != 0)
                    tool_oom();
            }
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
