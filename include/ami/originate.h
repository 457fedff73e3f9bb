/*
 * Originate helper: an Originate whose result is its OriginateResponse
 * event, and whose channels are known before the call exists.
 *
 * Asterisk answers an `Async: true` Originate at once ("Originate
 * successfully queued") and reports how the call went later, in an
 * OriginateResponse event carrying the action's ActionID, Response:
 * Success|Failure and a Reason (4 answered, 5 busy, 3 no answer, 8
 * congestion, 0 failed, 1 hung up). Setting ChannelId (and, for a Local
 * channel, OtherChannelId) up front gives the new channels Uniqueids the
 * caller already knows, so their events can be followed from the first
 * Newchannel on, before the OriginateResponse arrives.
 */
#ifndef AMI_ORIGINATE_H
#define AMI_ORIGINATE_H

#include <ami/ami.h>
#include <ami/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Asterisk's Reason codes (AST_CONTROL_*) in OriginateResponse. */
enum ami_originate_reason {
    AMI_ORIGINATE_FAILED = 0,
    AMI_ORIGINATE_HANGUP = 1,
    AMI_ORIGINATE_NO_ANSWER = 3,
    AMI_ORIGINATE_ANSWERED = 4,
    AMI_ORIGINATE_BUSY = 5,
    AMI_ORIGINATE_CONGESTION = 8
};

#define AMI_ORIGINATE_ID_MAX 64

typedef struct ami_originate_info {
    char channel_id[AMI_ORIGINATE_ID_MAX];       /* ChannelId: Uniqueid of the channel */
    char other_channel_id[AMI_ORIGINATE_ID_MAX]; /* OtherChannelId: the Local ;2 half */
    char action_id[128];                         /* set once the action was sent */
} ami_originate_info;

/* Make `a` (an action named Originate) followable: Async: true, and
 * ChannelId/OtherChannelId set to fresh ids (time, process and a counter)
 * unless the caller already set them; info receives both. Errors:
 * AMI_ERR_INVALID (NULL, or not an Originate), AMI_ERR_TOO_LONG (a
 * caller's id longer than AMI_ORIGINATE_ID_MAX - 1), AMI_ERR_NOMEM,
 * AMI_ERR_TOO_MANY. */
AMI_EXPORT int ami_originate_prepare(ami_action *a, ami_originate_info *info);

/* 1 when ev is the OriginateResponse of this Originate: its ActionID is
 * info->action_id or, before that is known, its Uniqueid is ChannelId. */
AMI_EXPORT int ami_originate_match(const ami_originate_info *info, const ami_packet *ev);

/* The Reason: of an OriginateResponse, or -1 when absent or not a number. */
AMI_EXPORT int ami_originate_reason(const ami_packet *response);
/* "answered", "busy", "no answer", "congestion", "failed", "hung up", or
 * "unknown" (static strings). */
AMI_EXPORT const char *ami_originate_reason_text(int reason);

/* Prepare and send `a` on c, then wait up to timeout_ms (-1: no limit) for
 * its OriginateResponse, returned in *response (owned by the caller, free
 * with ami_packet_free). Every other event that arrives meanwhile goes to
 * `other` (borrowed packets; NULL drops them, which the caller chose).
 * Returns 0 when the response says Success (answered), AMI_ERR_ACTION_FAILED
 * when it says Failure (*response set: see ami_originate_reason) or when
 * the Originate itself was refused (*response NULL, the server's message
 * in ami_client_errmsg), AMI_ERR_TIMEOUT, or a connection error.
 * Events are read with ami_client_next_event: the client must have no
 * event callback set (events it queued before the call are looked at
 * too). */
AMI_EXPORT int ami_client_originate(ami_client *c, ami_action *a, int timeout_ms,
                                    ami_originate_info *info, ami_packet **response,
                                    ami_event_cb other, void *user_data);

#ifdef __cplusplus
}
#endif

#endif /* AMI_ORIGINATE_H */
