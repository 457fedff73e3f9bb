/* Duplicate-key grouping with a per-packet hash table over sanitized keys;
 * linear in the number of headers, so a hostile packet with many distinct
 * or many repeated keys costs no more than its size. */
#include "keygroup.h"
#include "jsonstr.h"
#include "tool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static void grow_arrays(tool_keygroup *kg, size_t n)
{
    if (kg->next_cap < n) {
        if (n > SIZE_MAX / sizeof(size_t) / 4)
            tool_oom();
        kg->next = tool_xrealloc(kg->next, n * sizeof(size_t));
        kg->next_cap = n;
        kg->groups = tool_xrealloc(kg->groups, n * sizeof(tool_kgroup));
        kg->groups_cap = n;
    }
    size_t want = 16;
    while (want < 2 * n)
        want *= 2;
    if (kg->table_cap < want) {
        kg->table = tool_xrealloc(kg->table, want * sizeof(size_t));
        kg->table_cap = want;
    }
}

void tool_keygroup_build(tool_keygroup *kg, const ami_packet *p)
{
    size_t n = ami_packet_count(p);
    kg->keys.len = 0;
    kg->ngroups = 0;
    tool_buf_reserve(&kg->keys, 1); /* never a NULL base, even for empty keys */
    if (n == 0)
        return;
    grow_arrays(kg, n);
    /* Small tables are cleared in full; a table grown by one huge packet is
     * cleared only over the part this packet uses. */
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    memset(kg->table, 0, cap * sizeof(size_t));

    for (size_t i = 0; i < n; i++) {
        const char *key = NULL;
        size_t key_len = 0;
        ami_packet_header(p, i, &key, &key_len, NULL, NULL);
        size_t off = kg->keys.len;
        tool_utf8_sanitize(&kg->keys, key ? key : "", key ? key_len : 0);
        size_t klen = kg->keys.len - off;
        const char *k = kg->keys.p + off;

        size_t slot = hash_bytes(k, klen) & (cap - 1);
        for (;;) {
            size_t g = kg->table[slot];
            if (g == 0) {
                tool_kgroup *ng = &kg->groups[kg->ngroups];
                ng->key_off = off;
                ng->key_len = klen;
                ng->first = ng->last = i;
                ng->count = 1;
                kg->table[slot] = ++kg->ngroups;
                break;
            }
            tool_kgroup *grp = &kg->groups[g - 1];
            if (grp->key_len == klen && memcmp(kg->keys.p + grp->key_off, k, klen) == 0) {
                kg->next[grp->last] = i;
                grp->last = i;
                grp->count++;
                kg->keys.len = off; /* the key is already stored */
                break;
            }
            slot = (slot + 1) & (cap - 1);
        }
        kg->next[i] = SIZE_MAX;
    }
}

void tool_keygroup_free(tool_keygroup *kg)
{
    tool_buf_free(&kg->keys);
    free(kg->groups);
    free(kg->next);
    free(kg->table);
    memset(kg, 0, sizeof(*kg));
}
