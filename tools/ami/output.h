/*
 * Packet output in the three formats:
 *   text   the AMI wire form with "\n" line ends, a blank line after each
 *          packet, the banner as its own line;
 *   json   one document, an array of packet objects (built with jansson);
 *   ndjson one packet object per line (hand-written escaper, hot path).
 * Each packet is formatted into a reused buffer and written with one fwrite.
 */
#ifndef AMI_TOOL_OUTPUT_H
#define AMI_TOOL_OUTPUT_H

#include "buf.h"
#include "json_out.h"
#include "keygroup.h"
#include "tool.h"

#include <stdio.h>

typedef struct tool_out {
    tool_format fmt;
    FILE *f;
    size_t count;
    int write_errno; /* first write error, 0 if none */
    int began;
    /* JSON: this key is always an array, even with a single value (the
     * `cli` command's Output lines), so jq '.Output[]' always works. */
    const char *array_key;
    tool_buf buf;
    tool_keygroup kg;
} tool_out;

void tool_out_init(tool_out *o, tool_format fmt, FILE *f);
/* Open the json array; a no-op for the other formats. */
void tool_out_begin(tool_out *o);
void tool_out_packet(tool_out *o, const ami_packet *p);
/* The same with a "Server: <tag>" header first (the text line, the JSON
 * key). With drop_own, the packet's own Server headers are left out (the
 * library's gap notice carries the same server); otherwise they follow the
 * tag as further values, as any repeated header does. */
void tool_out_packet_tagged(tool_out *o, const ami_packet *p, const char *tag, int drop_own);
/* Write bytes as they are (the cli text form). */
void tool_out_raw(tool_out *o, const char *data, size_t n);
void tool_out_flush(tool_out *o);
/* Close the json array, flush, free. Returns an exit status: 0, or 3 with
 * a message when output could not be written (a closed pipe, EPIPE, is a
 * reader that stopped reading and counts as success). */
int tool_out_finish(tool_out *o);

/* Format one packet as a JSON object into `out` (ndjson, no newline). */
void tool_packet_ndjson(tool_buf *out, tool_keygroup *kg, const ami_packet *p,
                        const char *array_key);
void tool_packet_ndjson_ex(tool_buf *out, tool_keygroup *kg, const ami_packet *p,
                           const tool_json_opts *jo);
#endif
