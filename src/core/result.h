/*
 * Building results (result.c): the session fills them in, the pending
 * table holds them. Never installed.
 */
#ifndef AMI_RESULT_INTERNAL_H
#define AMI_RESULT_INTERNAL_H

#include "internal.h"

typedef struct ami__output_line {
    const char *text;
    size_t len;
} ami__output_line;

struct ami_result {
    int status;
    uint8_t is_list;
    uint8_t nomem; /* a copy failed: the result reports AMI_ERR_NOMEM */
    uint8_t local; /* local_msg holds the message */
    const char *message;
    ami_packet *response;
    ami_packet **events;
    size_t event_count;
    size_t event_cap;
    ami__output_line *output;
    size_t output_count;
    const char *action_id;
    const char *name;
    char local_msg[256];
    char storage[]; /* action_id NUL name NUL */
};

/* One allocation holding the id and the action name; NULL on NOMEM. */
ami_result *ami__result_create(const char *id, size_t id_len, const char *name, size_t name_len);
/* Keep an owned copy of the response and take the status from it. */
void ami__result_set_response(ami_result *r, const ami_packet *response);
/* Append an owned copy of a list event. */
void ami__result_add_event(ami_result *r, const ami_packet *event);
/* A local outcome (timeout, disconnect, ...) with a formatted message. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void ami__result_fail(ami_result *r, int status, const char *fmt, ...);
/* Settle status, message and output lines before the result is handed out. */
void ami__result_finish(ami_result *r);

#endif /* AMI_RESULT_INTERNAL_H */
