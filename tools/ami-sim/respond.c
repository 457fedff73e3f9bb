/* Response framing, as Asterisk's astman_start_ack/send_error/send_listack:
 * "Response:", then ActionID only when the request had one, then Message:. */
#include "sim.h"

void sim_resp_start(sim_buf *b, const char *response, const char *action_id)
{
    sim_hdr(b, "Response", response);
    if (action_id)
        sim_hdr(b, "ActionID", action_id);
}

static void send_simple(sim_conn *c, const char *resp, const char *id, const char *msg)
{
    sim_buf b = {0};
    sim_resp_start(&b, resp, id);
    if (msg)
        sim_hdr(&b, "Message", msg);
    sim_buf_append(&b, "\r\n", 2);
    sim_conn_send_response(c, &b);
    sim_buf_free(&b);
}

void sim_send_error(sim_conn *c, const char *action_id, const char *msg)
{
    send_simple(c, "Error", action_id, msg);
}

void sim_send_ack(sim_conn *c, const char *action_id, const char *msg)
{
    send_simple(c, "Success", action_id, msg);
}

void sim_send_list_start(sim_conn *c, const char *action_id, const char *msg)
{
    sim_buf b = {0};
    sim_resp_start(&b, "Success", action_id);
    sim_hdr(&b, "EventList", "start");
    sim_hdr(&b, "Message", msg);
    sim_buf_append(&b, "\r\n", 2);
    sim_conn_send_response(c, &b);
    sim_buf_free(&b);
}
