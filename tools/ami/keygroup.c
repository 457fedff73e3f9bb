/* Duplicate-key grouping with a per-packet hash table over sanitized keys;
 * linear in the number of headers, so a hostile packet with many distinct
 * or many repeated keys costs no more than its size. */
#include "keygroup.h"
#include "jsonstr.h"
#include "tool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Keys are short header names: hash their length and first and last eight
 * bytes (a collision only costs a compare, never a wrong group). */
static uint64_t load_upto8(const char *s, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, s, n < 8 ? n : 8);
    return v;
}

static size_t hash_key(const char *s, size_t n)
{
    uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ull;
    h ^= load_upto8(s, n) * 0xff51afd7ed558ccdull;
    if (n > 8)
        h ^= load_upto8(s + n - 8, 8) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (size_t)h;
}

static int is_ascii(const char *s, size_t n)
{
    uint64_t any = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        any |= load_upto8(s + i, 8);
    if (i < n)
        any |= load_upto8(s + i, n - i);
    return (any & 0x8080808080808080ull) == 0;
}

static void grow_arrays(tool_keygroup *kg, size_t n)
{
    if (kg->next_cap < n) {
        if (n > UINT32_MAX || n > SIZE_MAX / sizeof(size_t) / 4)
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
        kg->table = tool_xrealloc(kg->table, want * sizeof(*kg->table));
        memset(kg->table, 0, want * sizeof(*kg->table));
        kg->table_cap = want;
    }
}

/*
 * Slots carry the packet's generation in their high half, so a new packet
 * starts with an empty table without clearing it: clearing was a visible
 * part of the cost of printing one small event.
 */
void tool_keygroup_build(tool_keygroup *kg, const ami_packet *p)
{
    size_t n = ami_packet_count(p);
    kg->keys.len = 0;
    kg->ngroups = 0;
    tool_buf_reserve(&kg->keys, 1); /* never a NULL base, even for empty keys */
    if (n == 0)
        return;
    grow_arrays(kg, n);
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    if (++kg->generation == 0) { /* wrapped: old tags could match again */
        memset(kg->table, 0, kg->table_cap * sizeof(*kg->table));
        kg->generation = 1;
    }
    const uint64_t tag = (uint64_t)kg->generation << 32;

    for (size_t i = 0; i < n; i++) {
        const char *key = NULL;
        size_t key_len = 0;
        ami_packet_header(p, i, &key, &key_len, NULL, NULL);
        size_t off = kg->keys.len;
        if (key && is_ascii(key, key_len))
            tool_buf_add(&kg->keys, key, key_len);
        else
            tool_utf8_sanitize(&kg->keys, key ? key : "", key ? key_len : 0);
        size_t klen = kg->keys.len - off;
        const char *k = kg->keys.p + off;

        size_t slot = hash_key(k, klen) & (cap - 1);
        for (;;) {
            uint64_t e = kg->table[slot];
            if ((e & ~(uint64_t)UINT32_MAX) != tag) {
                tool_kgroup *ng = &kg->groups[kg->ngroups];
                ng->key_off = off;
                ng->key_len = klen;
                ng->first = ng->last = i;
                ng->count = 1;
                kg->table[slot] = tag | (uint64_t)kg->ngroups++;
                break;
            }
            tool_kgroup *grp = &kg->groups[e & UINT32_MAX];
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

size_t tool_keygroup_server(const tool_keygroup *kg)
{
    for (size_t g = 0; g < kg->ngroups; g++)
        if (kg->groups[g].key_len == 6 &&
            memcmp(kg->keys.p + kg->groups[g].key_off, "Server", 6) == 0)
            return g;
    return (size_t)-1;
}
