/*
 * Session fuzz target: a hostile server byte stream arrives while actions
 * are pending. Whatever the bytes, every action's callback must run exactly
 * once (by the stream, a deadline, or the final free), recv must never
 * report more bytes consumed than given, and nothing may leak.
 */
#include <ami/ami.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ACTIONS 16

typedef struct tally {
    int calls[MAX_ACTIONS];
} tally;

typedef struct slot {
    tally *t;
    int index;
} slot;

static void on_result(ami_session *s, ami_result *r, void *ud)
{
    (void)s;
    slot *sl = ud;
    sl->t->calls[sl->index]++;
    (void)ami_result_message(r);
    for (size_t i = 0; i < ami_result_event_count(r); i++)
        (void)ami_packet_event_name(ami_result_event(r, i));
    for (size_t i = 0; i < ami_result_output_count(r); i++)
        (void)ami_result_output_line(r, i, NULL);
    ami_result_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    int nactions = data[0] % MAX_ACTIONS;
    size_t chunk = 1 + data[1];
    size_t queue_max = 1 + data[2] % 8;
    data += 4;
    size -= 4;

    ami_session *s;
    if (ami_session_create(&s) != 0)
        return 0;
    ami_session_set_id_prefix(s, "");
    ami_session_set_queue_limits(s, queue_max, 1 << 20);
    ami_session_set_parser_limits(s, 4096, 256, 65536);
    tally t = {{0}};
    slot slots[MAX_ACTIONS];
    int sent = 0;
    for (int i = 0; i < nactions; i++) {
        ami_action *a;
        if (ami_action_create(&a, i % 3 ? "Ping" : "CoreShowChannels") != 0)
            continue;
        slots[i].t = &t;
        slots[i].index = i;
        /* IDs are "0", "1", ... with an empty prefix, so a fuzzer can hit
         * them easily. */
        if (ami_session_send(s, a, (uint64_t)(100 + i * 10), on_result, &slots[i], NULL) == 0)
            sent |= 1 << i;
        ami_action_free(a);
    }
    const char *out;
    size_t out_len;
    ami_session_output(s, &out, &out_len);
    ami_session_consume(s, out_len);

    size_t off = 0;
    uint64_t now = 0;
    int stalls = 0;
    while (off < size && stalls < 4) {
        size_t n = size - off < chunk ? size - off : chunk;
        long got = ami_session_recv(s, (const char *)data + off, n, now);
        if (got < 0)
            break;
        if ((size_t)got > n)
            abort();
        off += (size_t)got;
        ami_packet *ev;
        size_t popped = 0;
        while (ami_session_next_event(s, &ev) == 1) {
            ami_packet_free(ev);
            popped++;
        }
        /* Consuming no bytes is progress while buffered packets drain. */
        stalls = got == 0 && popped == 0 ? stalls + 1 : 0;
        now += 7;
        ami_session_tick(s, now);
    }
    if (off < size && stalls >= 4)
        abort(); /* queue drained, yet no progress: a stuck session */
    ami_session_free(s);
    for (int i = 0; i < nactions; i++) {
        int expected = (sent >> i) & 1;
        if (t.calls[i] != expected) {
            fprintf(stderr, "action %d: callback ran %d times\n", i, t.calls[i]);
            abort();
        }
    }
    return 0;
}
