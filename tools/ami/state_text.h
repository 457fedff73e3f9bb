/*
 * Reading a store the way people look at a PBX: channels grouped into
 * calls (by Linkedid) with one line of summary each, queue member status
 * in words, durations. Shared by `ami state --format text` and `ami top`.
 * Every value that came from the server is cleaned of control characters
 * before it reaches the terminal (no escape sequence can be injected).
 */
#ifndef AMI_TOOL_STATE_TEXT_H
#define AMI_TOOL_STATE_TEXT_H

#include <ami/state.h>

#include <stdint.h>
#include <stdio.h>

/* The channels of one call, in store order. */
typedef struct tool_call {
    const ami_state_object **ch;
    size_t n;
} tool_call;

typedef struct tool_calls {
    tool_call *v;
    size_t n;
    const ami_state_object **all; /* the channels, grouped */
} tool_calls;

/* The store's calls (ami_state_next_call: channels grouped by Linkedid),
 * in the order they appeared, each with its channels. */
void tool_calls_build(const ami_state *st, tool_calls *out);
void tool_calls_free(tool_calls *c);

typedef struct tool_call_info {
    char caller[96];
    char callee[96];
    char state[32];
    char bridge[64];
    char app[96];
    char linkedid[64];
    uint64_t since_ms; /* answered, else created (store clock), 0: unknown */
} tool_call_info;

/* One line's worth of summary: the caller is the channel that started the
 * call (Uniqueid == Linkedid), the callee the other party (or who it
 * dialled), the state "Up" once any channel is. */
void tool_call_info_get(const tool_call *c, tool_call_info *out);

/* A header's value cleaned for a terminal ("" when absent; "<unknown>"
 * counts as absent). */
void tool_clean(char *dst, size_t n, const char *src);
void tool_obj_str(char *dst, size_t n, const ami_state_object *o, const char *key);

/* "Not in use", "In use", ... for QueueMember Status (a device state). */
const char *tool_member_status(const char *code);
/* "yes"/"no" for 1/0 or true/false headers. */
const char *tool_yes_no(const char *v);

/* "m:ss" or "h:mm:ss" for the time since `since_ms` (store clock), ""
 * when either is unknown. */
void tool_fmt_since(char *dst, size_t n, uint64_t now_ms, uint64_t since_ms);

/* The readable listing of `ami state --format text`. `title` (may be
 * NULL) names the server. `now_ms` 0: no durations (a capture has no
 * clock). */
void tool_state_text(FILE *f, const ami_state *st, uint64_t now_ms, const char *title);

#endif
