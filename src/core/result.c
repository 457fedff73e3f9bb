/*
 * Results: what an action's callback receives. The object is allocated when
 * the action is sent, so completing it never needs memory that might be
 * missing: a copy that fails later only turns the status into
 * AMI_ERR_NOMEM, and the callback still runs exactly once.
 */
#include "result.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ami_result *ami__result_create(const char *id, size_t id_len, const char *name, size_t name_len)
{
    ami_result *r = ami__malloc(sizeof(*r) + id_len + name_len + 2);
    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    memcpy(r->storage, id, id_len);
    r->storage[id_len] = '\0';
    memcpy(r->storage + id_len + 1, name, name_len);
    r->storage[id_len + 1 + name_len] = '\0';
    r->action_id = r->storage;
    r->name = r->storage + id_len + 1;
    return r;
}

static int status_of(const ami_packet *response)
{
    /* Success, Follows, Goodbye and the odd old "Pong" are all answers. */
    return ami_packet_response_type(response) == AMI_RESPONSE_ERROR ? AMI_ERR_ACTION_FAILED
                                                                    : AMI_OK;
}

void ami__result_set_response(ami_result *r, const ami_packet *response)
{
    r->status = status_of(response);
    if (r->response || r->nomem)
        return;
    if (ami_packet_dup(response, &r->response) != AMI_OK)
        r->nomem = 1;
}

void ami__result_add_event(ami_result *r, const ami_packet *event)
{
    if (r->nomem)
        return;
    if (r->event_count == r->event_cap) {
        size_t cap = r->event_cap ? r->event_cap * 2 : 8;
        ami_packet **ev = ami__realloc(r->events, cap * sizeof(*ev));
        if (!ev) {
            r->nomem = 1;
            return;
        }
        r->events = ev;
        r->event_cap = cap;
    }
    if (ami_packet_dup(event, &r->events[r->event_count]) != AMI_OK) {
        r->nomem = 1;
        return;
    }
    r->event_count++;
}

void ami__result_fail(ami_result *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->local_msg, sizeof(r->local_msg), fmt, ap);
    va_end(ap);
    r->status = status;
    r->local = 1;
}

/*
 * Output lines are exactly the values of the response's Output headers, in
 * order: Asterisk 14+ sends one header per CLI line, and the parser exposes
 * the legacy "Response: Follows" body the same way, so both framings give
 * the same lines. An empty CLI output arrives as one "Output: " and is kept
 * as one empty line rather than guessed away: the result shows what the
 * server sent, and a printer of these lines prints the same blank line the
 * server's CLI would have.
 */
static void index_output(ami_result *r)
{
    const ami_packet *p = r->response;
    size_t n = ami_packet_count_key(p, "Output");
    if (n == 0)
        return;
    r->output = ami__malloc(n * sizeof(*r->output));
    if (!r->output) {
        r->nomem = 1;
        return;
    }
    size_t cursor = 0, len;
    const char *text;
    while (r->output_count < n && (text = ami_packet_next_value(p, "Output", &cursor, &len))) {
        r->output[r->output_count].text = text;
        r->output[r->output_count].len = len;
        r->output_count++;
    }
}

void ami__result_finish(ami_result *r)
{
    if (r->response && !r->local)
        index_output(r);
    if (r->nomem && !r->local) {
        /* Keep what was copied, but never report a partial list as whole. */
        snprintf(r->local_msg, sizeof(r->local_msg),
                 "out of memory while storing the reply to %s (ActionID %s)", r->name,
                 r->action_id);
        r->status = AMI_ERR_NOMEM;
        r->local = 1;
        r->is_list = 0;
    }
    if (r->local)
        r->message = r->local_msg;
    else if (r->response && ami_packet_message(r->response))
        r->message = ami_packet_message(r->response);
    else
        r->message = ami_strerror(r->status);
}

int ami_result_status(const ami_result *r)
{
    return r ? r->status : AMI_ERR_INVALID;
}

const char *ami_result_message(const ami_result *r)
{
    if (!r)
        return ami_strerror(AMI_ERR_INVALID);
    return r->message ? r->message : ami_strerror(r->status);
}

const ami_packet *ami_result_response(const ami_result *r)
{
    return r ? r->response : NULL;
}

const char *ami_result_action_id(const ami_result *r)
{
    return r ? r->action_id : NULL;
}

size_t ami_result_event_count(const ami_result *r)
{
    return r ? r->event_count : 0;
}

const ami_packet *ami_result_event(const ami_result *r, size_t i)
{
    return (r && i < r->event_count) ? r->events[i] : NULL;
}

int ami_result_is_list(const ami_result *r)
{
    return r ? r->is_list : 0;
}

size_t ami_result_output_count(const ami_result *r)
{
    return r ? r->output_count : 0;
}

const char *ami_result_output_line(const ami_result *r, size_t i, size_t *len)
{
    if (!r || i >= r->output_count) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = r->output[i].len;
    return r->output[i].text;
}

void ami_result_free(ami_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->event_count; i++)
        ami_packet_free(r->events[i]);
    ami__free(r->events);
    ami__free(r->output);
    ami_packet_free(r->response);
    ami__free(r);
}
