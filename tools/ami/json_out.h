/*
 * The `json` format's packet objects, built with jansson (json_out.c).
 * Below output.c, which picks this or its own ndjson writer; it calls
 * nothing of output.c.
 */
#ifndef AMI_TOOL_JSON_OUT_H
#define AMI_TOOL_JSON_OUT_H

#include "buf.h"
#include "keygroup.h"

#include <ami/ami.h>

/* How a packet is turned into a JSON object: array_key is always an
 * array; a non-NULL tag becomes a leading "Server" member (see
 * tool_out_packet_tagged). */
typedef struct tool_json_opts {
    const char *array_key;
    const char *tag;
    int drop_own;
} tool_json_opts;

/* A packet as a JSON object built with jansson, serialized into `out` (the
 * same object as output.h's ndjson writer makes). */
void tool_packet_json(tool_buf *out, tool_keygroup *kg, const ami_packet *p, const char *array_key);
void tool_packet_json_ex(tool_buf *out, tool_keygroup *kg, const ami_packet *p,
                         const tool_json_opts *jo);

#endif
