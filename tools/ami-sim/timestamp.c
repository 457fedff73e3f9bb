/*
 * --timestamp-events: manager.conf's `timestampevents = yes`. Asterisk's
 * manager_event() writes `Timestamp: SEC.USEC` right after the Privilege
 * line, once per event, into the text every session then gets: so each
 * session receives the same bytes. (Per-session output built with
 * astman_append(), such as list events and the FullyBooted of a login,
 * has no Timestamp.) An HA pair of amid instances derives its NATS
 * message id from those bytes, so the sim must give each connection the
 * very same ones.
 *
 * Stamps come from CLOCK_REALTIME and never repeat or run backwards
 * (sim_stamp_next), so two identical events (the firehose repeats its
 * 64-event block, and every session gets the same firehose) stay distinct
 * bytes. The paced firehose (--firehose-rate) stamps the events of one
 * pass with that pass's reading, the same value as their SimSentUs, for
 * latency figures; their SimSeq keeps them distinct.
 */
#include "sim.h"

#include <string.h>
#include <time.h>

long long sim_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long sim_stamp_next(sim *s)
{
    long long us = sim_wall_us();
    if (us <= s->last_stamp_us)
        us = s->last_stamp_us + 1;
    s->last_stamp_us = us;
    return us;
}

size_t sim_event_stamp_at(const char *text, size_t len)
{
    const char *end = text + len;
    const char *nl = memchr(text, '\n', len);
    if (!nl)
        return 0;
    const char *second = nl + 1;
    static const char priv[] = "Privilege:";
    if ((size_t)(end - second) > sizeof priv - 1 && strncmp(second, priv, sizeof priv - 1) == 0) {
        const char *nl2 = memchr(second, '\n', (size_t)(end - second));
        if (nl2)
            return (size_t)(nl2 + 1 - text);
    }
    return (size_t)(second - text);
}

void sim_buf_put_stamp(sim_buf *b, long long us)
{
    sim_buf_printf(b, "Timestamp: %lld.%06lld\r\n", us / 1000000, us % 1000000);
}

void sim_buf_put_stamped(sim_buf *b, const char *text, size_t len, long long us)
{
    size_t at = sim_event_stamp_at(text, len);
    if (!at) {
        sim_buf_append(b, text, len);
        return;
    }
    sim_buf_append(b, text, at);
    sim_buf_put_stamp(b, us);
    sim_buf_append(b, text + at, len - at);
}
