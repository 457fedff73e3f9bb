/*
 * Groups a packet's headers by key for JSON output: a repeated key becomes
 * one member holding an array, at the position of its first occurrence,
 * even when the repeats are not adjacent. Keys are compared after UTF-8
 * sanitizing, because that is the form that reaches the JSON document (two
 * different invalid keys could otherwise become duplicate members).
 */
#ifndef AMI_TOOL_KEYGROUP_H
#define AMI_TOOL_KEYGROUP_H

#include "buf.h"

#include <ami/ami.h>

#include <stddef.h>
#include <stdint.h>

typedef struct tool_kgroup {
    size_t key_off; /* sanitized key in tool_keygroup.keys */
    size_t key_len;
    size_t first; /* header index of the first value */
    size_t last;
    size_t count;
} tool_kgroup;

/* Scratch state reused for every packet: no allocation per header once the
 * arrays have grown to the largest packet seen. */
typedef struct tool_keygroup {
    tool_buf keys;
    tool_kgroup *groups;
    size_t ngroups;
    size_t groups_cap;
    size_t *next; /* per header: next header of the same group, or SIZE_MAX */
    size_t next_cap;
    uint64_t *table; /* open addressing: generation << 32 | group index */
    size_t table_cap;
    uint32_t generation; /* of the packet being grouped; 0 is never used */
} tool_keygroup;

/* Build the groups of p (replacing the previous packet's). */
void tool_keygroup_build(tool_keygroup *kg, const ami_packet *p);
void tool_keygroup_free(tool_keygroup *kg);

/* The group of the last built packet whose key is exactly "Server", or
 * (size_t)-1. */
size_t tool_keygroup_server(const tool_keygroup *kg);

#endif
