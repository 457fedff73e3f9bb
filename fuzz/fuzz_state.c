/*
 * Live-state store fuzz target: a hostile server stream is parsed and fed
 * to a store (events as events; packets carrying an ActionID also collected
 * into the result of the list the store asked for, completed at
 * `EventList: Complete` or an error response). After every packet the
 * store's invariants must hold: counts agree with iteration, every channel
 * in a bridge's list names that bridge, the bounds hold, and the JSON is
 * valid UTF-8 with balanced brackets. Nothing may leak.
 */
#include <ami/state.h>

#include "result.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OBJECTS 200
#define MAX_BYTES   512

static void check_utf8_json(const char *s, size_t n)
{
    long depth = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20)
            abort(); /* raw control characters never appear */
        if (c >= 0x80) {
            size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (c < 0xC2 || c > 0xF4 || i + len > n)
                abort();
            for (size_t j = 1; j < len; j++) {
                if (((unsigned char)s[i + j] & 0xC0) != 0x80)
                    abort();
            }
            i += len - 1;
            continue;
        }
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        if (depth < 0)
            abort();
    }
    if (depth != 0 || in_str)
        abort();
}

static void check(ami_state *st)
{
    size_t total = 0;
    for (int k = 0; k < AMI_STATE_KIND_COUNT; k++) {
        size_t c = 0, n = 0;
        const ami_state_object *o;
        while ((o = ami_state_next(st, (ami_state_kind)k, &c))) {
            if (ami_state_object_kind(o) != (ami_state_kind)k || !ami_state_object_id(o))
                abort();
            if (ami_state_find(st, (ami_state_kind)k, ami_state_object_id(o)) != o)
                abort();
            if (k == AMI_STATE_BRIDGE) {
                size_t cc = 0;
                const ami_state_object *ch;
                while ((ch = ami_state_next_in(st, o, AMI_STATE_CHANNEL, &cc))) {
                    const char *b = ami_state_object_get(ch, "BridgeId");
                    if (!b || strcmp(b, ami_state_object_id(o)) != 0)
                        abort();
                }
            }
            n++;
        }
        if (n != ami_state_count(st, (ami_state_kind)k))
            abort();
        total += n;
    }
    ami_state_stats s;
    ami_state_stats_get(st, &s);
    if (s.objects != total || total > MAX_OBJECTS)
        abort();
    size_t calls = 0, c = 0, in_calls = 0;
    const ami_state_object *first;
    while ((first = ami_state_next_call(st, &c))) {
        calls++;
        const char *lid = ami_state_object_get(first, "Linkedid");
        size_t cc = 0;
        while (lid && ami_state_next_in_call(st, lid, &cc))
            in_calls++;
    }
    if (calls != ami_state_call_count(st) || in_calls > ami_state_count(st, AMI_STATE_CHANNEL))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ami_state *st;
    if (ami_state_create(&st))
        return 0;
    ami_state_set_limits(st, MAX_OBJECTS, MAX_BYTES);
    ami_state_set_now(st, 1000);
    ami_parser *p;
    unsigned flags = size >= 8 && memcmp(data, "Asterisk", 8) == 0 ? AMI_PARSER_EXPECT_BANNER : 0;
    if (ami_parser_create(&p, flags)) {
        ami_state_free(st);
        return 0;
    }
    ami_parser_set_limits(p, 1 << 16, 1024, 1 << 20);
    ami_action *a = NULL;
    unsigned token = 0;
    ami_result *r = NULL;
    size_t off = 0, step = 0;
    while (off < size) {
        /* Uneven chunks, derived from the data itself. */
        size_t n = 1 + (size_t)(data[off] % 97);
        if (n > size - off)
            n = size - off;
        if (ami_parser_feed(p, (const char *)data + off, n))
            break;
        off += n;
        const ami_packet *pk;
        while (ami_parser_next(p, &pk) == 1) {
            if (!a && !r && ami_state_next_action(st, &a, &token) == 1) {
                const char *name = ami_action_name(a);
                r = ami__result_create("x", 1, name, strlen(name));
            }
            ami_packet_kind k = ami_packet_kind_of(pk);
            if (k == AMI_PACKET_EVENT && ami_state_feed_event(st, pk) == AMI_ERR_STATE)
                abort();
            if (r && ami_packet_action_id(pk)) {
                const char *el = ami_packet_get(pk, "EventList");
                int done = 0;
                if (k == AMI_PACKET_RESPONSE) {
                    ami__result_set_response(r, pk);
                    done = ami_packet_response_type(pk) == AMI_RESPONSE_ERROR;
                } else if (k == AMI_PACKET_EVENT) {
                    ami__result_add_event(r, pk);
                    done = el && strcmp(el, "Complete") == 0;
                }
                if (done) {
                    ami__result_finish(r);
                    ami_state_feed_result(st, token, r);
                    ami_result_free(r);
                    ami_action_free(a);
                    r = NULL;
                    a = NULL;
                }
            }
            if ((++step & 15) == 0 && pk && ami_packet_count(pk) > 3)
                ami_state_resync_begin(st); /* abandons the list in flight */
            check(st);
        }
    }
    char *json;
    size_t jl;
    if (ami_state_to_json(st, &json, &jl) == 0) {
        check_utf8_json(json, jl);
        free(json);
    }
    ami_result_free(r);
    ami_action_free(a);
    ami_parser_free(p);
    ami_state_free(st);
    return 0;
}
