/* Originate helper (ami/originate.h): Async Originate with ChannelId and
 * OtherChannelId set up front, answered by its OriginateResponse. */
#include <ami/originate.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static unsigned long id_counter;

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Unique enough across processes and restarts: wall time, pid and a
 * counter. Asterisk only needs it unique among its live channels. */
static void fresh_id(char *out, size_t n, const char *suffix)
{
    snprintf(out, n, "ami-%lx-%lx-%lu%s", (unsigned long)time(NULL), (unsigned long)getpid(),
             id_counter, suffix);
}

int ami_originate_prepare(ami_action *a, ami_originate_info *info)
{
    if (!a || !info || strcasecmp(ami_action_name(a), "Originate") != 0)
        return AMI_ERR_INVALID;
    memset(info, 0, sizeof *info);
    const char *ch = ami_action_get(a, "ChannelId");
    const char *other = ami_action_get(a, "OtherChannelId");
    if ((ch && strlen(ch) >= AMI_ORIGINATE_ID_MAX) ||
        (other && strlen(other) >= AMI_ORIGINATE_ID_MAX))
        return AMI_ERR_TOO_LONG;
    id_counter++;
    if (ch && *ch)
        snprintf(info->channel_id, sizeof info->channel_id, "%s", ch);
    else
        fresh_id(info->channel_id, sizeof info->channel_id, "");
    if (other && *other)
        snprintf(info->other_channel_id, sizeof info->other_channel_id, "%s", other);
    else
        snprintf(info->other_channel_id, sizeof info->other_channel_id, "%.*s;2",
                 AMI_ORIGINATE_ID_MAX - 3, info->channel_id);
    int rc = ami_action_set(a, "Async", "true");
    if (rc == 0)
        rc = ami_action_set(a, "ChannelId", info->channel_id);
    if (rc == 0)
        rc = ami_action_set(a, "OtherChannelId", info->other_channel_id);
    return rc;
}

int ami_originate_match(const ami_originate_info *info, const ami_packet *ev)
{
    if (!info || !ev)
        return 0;
    const char *name = ami_packet_event_name(ev);
    if (!name || strcasecmp(name, "OriginateResponse") != 0)
        return 0;
    const char *id = ami_packet_action_id(ev);
    if (info->action_id[0])
        return id && strcmp(id, info->action_id) == 0;
    const char *uid = ami_packet_get(ev, "Uniqueid");
    return uid && info->channel_id[0] && strcmp(uid, info->channel_id) == 0;
}

int ami_originate_reason(const ami_packet *response)
{
    const char *r = response ? ami_packet_get(response, "Reason") : NULL;
    if (!r || *r < '0' || *r > '9')
        return -1;
    char *end;
    long v = strtol(r, &end, 10);
    if (*end || v > 1000)
        return -1;
    return (int)v;
}

const char *ami_originate_reason_text(int reason)
{
    switch (reason) {
    case AMI_ORIGINATE_FAILED:
        return "failed";
    case AMI_ORIGINATE_HANGUP:
        return "hung up";
    case AMI_ORIGINATE_NO_ANSWER:
        return "no answer";
    case AMI_ORIGINATE_ANSWERED:
        return "answered";
    case AMI_ORIGINATE_BUSY:
        return "busy";
    case AMI_ORIGINATE_CONGESTION:
        return "congestion";
    default:
        return "unknown";
    }
}

int ami_client_originate(ami_client *c, ami_action *a, int timeout_ms, ami_originate_info *info,
                         ami_packet **response, ami_event_cb other, void *user_data)
{
    if (!c || !a || !info || !response)
        return AMI_ERR_INVALID;
    *response = NULL;
    int rc = ami_originate_prepare(a, info);
    if (rc)
        return rc;
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : monotonic_ms() + (uint64_t)timeout_ms;
    ami_result *r = NULL;
    rc = ami_client_call(c, a, timeout_ms, &r);
    if (r && ami_result_action_id(r))
        snprintf(info->action_id, sizeof info->action_id, "%s", ami_result_action_id(r));
    ami_result_free(r);
    if (rc)
        return rc;
    for (;;) {
        int left = -1;
        if (deadline != UINT64_MAX) {
            uint64_t now = monotonic_ms();
            if (now >= deadline)
                return AMI_ERR_TIMEOUT;
            left = deadline - now > 0x7fffffff ? 0x7fffffff : (int)(deadline - now);
        }
        ami_packet *ev = NULL;
        int got = ami_client_next_event(c, left, &ev);
        if (got < 0)
            return got;
        if (got == 0)
            return AMI_ERR_TIMEOUT;
        if (ami_originate_match(info, ev)) {
            *response = ev;
            const char *resp = ami_packet_get(ev, "Response");
            return resp && strcasecmp(resp, "Success") == 0 ? AMI_OK : AMI_ERR_ACTION_FAILED;
        }
        if (other)
            other(ami_client_session(c), ev, user_data);
        ami_packet_free(ev);
    }
}
