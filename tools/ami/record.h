/*
 * --record BASE: every byte of a session in the fixtures' form
 * (tests/fixtures/ami/README.md): BASE.raw (what the server sent), BASE.sent
 * (what the client sent) and BASE.timeline ("t_ms dir nbytes raw_off
 * sent_off" per read, write and the server's EOF), so it can be attached
 * to a bug report and served again by `ami-sim --replay BASE.raw`.
 *
 * What leaks: a Login's Secret is replaced by ******** in BASE.sent, and
 * so is its MD5 Key, because md5(challenge + secret) next to the challenge
 * in BASE.raw lets anyone test guesses of the secret offline. The user
 * name, the actions and every server answer stay as they were: the files
 * are created mode 600.
 */
#ifndef AMI_TOOL_RECORD_H
#define AMI_TOOL_RECORD_H

#include "tool.h"

#include <ami/async.h>

typedef struct tool_record tool_record;

/* Open the three files of o->record (*out NULL when o->record is NULL).
 * Returns 0 or an exit status after a message. */
int tool_record_open(const tool_opts *o, tool_record **out);
/* The ami_wire_cb to hand to ami_client_set_wire_cb/ami_async_set_wire_cb
 * with the tool_record as user data. */
void tool_record_wire(ami_wire_dir dir, const char *data, size_t len, void *rec);
/* Flush and close; returns 0, or TOOL_EXIT_CONNECTION after a message
 * when a file could not be written. NULL is a no-op returning 0. */
int tool_record_close(tool_record *r);

/* tool_conn_open, recording into rec (may be NULL). conn.c. */
int tool_conn_open_rec(tool_opts *o, const char *events, tool_record *rec, ami_client **out);

#endif
