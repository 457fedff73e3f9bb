/*
 * Memory per tracked channel: 10,000 concurrent channels (5,000 two-leg
 * calls, each leg announced by Newchannel, given a dialplan application by
 * Newexten, answered by Newstate, and the pair put in a bridge by
 * BridgeCreate + two BridgeEnter, as a PBX shows them) fed to a live-state
 * store. Prints the resident-set growth per channel (what the process
 * really paid, malloc overhead and indexes included) and the store's own
 * byte count per channel.
 *
 * usage: state_mem_bench [CHANNELS]
 */
#include "common.h"

#include <ami/state.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void feed_text(ami_state *st, ami_parser *p, const char *text)
{
    if (ami_parser_feed(p, text, strlen(text)))
        bench_die("parser");
    const ami_packet *pk;
    while (ami_parser_next(p, &pk) == 1) {
        if (ami_state_feed_event(st, pk) < 0)
            bench_die("feed");
    }
}

static int chan(char *buf, size_t cap, const char *event, unsigned call, int leg, int up,
                const char *tail)
{
    return snprintf(buf, cap,
                    "Event: %s\r\nPrivilege: call,all\r\nChannel: PJSIP/trunk-%08x;%d\r\n"
                    "ChannelState: %d\r\nChannelStateDesc: %s\r\nCallerIDNum: 4930%07u\r\n"
                    "CallerIDName: Customer %u\r\nConnectedLineNum: 200\r\n"
                    "ConnectedLineName: Agent Alice\r\nLanguage: en\r\nAccountCode: \r\n"
                    "Context: from-trunk\r\nExten: 200\r\nPriority: 1\r\n"
                    "Uniqueid: 1796172835.%u\r\nLinkedid: 1796172835.%u\r\n%s\r\n",
                    event, call, leg, up ? 6 : 0, up ? "Up" : "Down", call, call, call * 2 + leg,
                    call * 2, tail);
}

int main(int argc, char **argv)
{
    unsigned channels = argc > 1 ? (unsigned)bench_arg_u64(argv[1], "CHANNELS") : 10000;
    unsigned calls = channels / 2;
    ami_parser *p;
    ami_state *st;
    if (ami_parser_create(&p, 0) || ami_state_create(&st))
        bench_die("create");
    static char buf[8192];
    /* Warm the allocator and the parser before the baseline. */
    feed_text(st, p, "Event: FullyBooted\r\nStatus: ok\r\n\r\n");
    long rss0 = bench_rss_kib();
    for (unsigned c = 0; c < calls; c++) {
        char bridge[512];
        snprintf(bridge, sizeof bridge,
                 "BridgeUniqueid: %08x-b509-4ac7-a1f5-ead97f861aec\r\nBridgeType: basic\r\n"
                 "BridgeTechnology: simple_bridge\r\nBridgeCreator: <unknown>\r\n"
                 "BridgeName: <unknown>\r\nBridgeNumChannels: 2\r\nBridgeVideoSourceMode: none\r\n",
                 c);
        for (int leg = 1; leg <= 2; leg++) {
            chan(buf, sizeof buf, "Newchannel", c, leg, 0, "");
            feed_text(st, p, buf);
            chan(buf, sizeof buf, "Newexten", c, leg, 0,
                 "Extension: 200\r\nApplication: Dial\r\nAppData: PJSIP/200,30,tT\r\n");
            feed_text(st, p, buf);
            chan(buf, sizeof buf, "Newstate", c, leg, 1, "");
            feed_text(st, p, buf);
        }
        snprintf(buf, sizeof buf, "Event: BridgeCreate\r\nPrivilege: call,all\r\n%s\r\n", bridge);
        feed_text(st, p, buf);
        for (int leg = 1; leg <= 2; leg++) {
            chan(buf, sizeof buf, "BridgeEnter", c, leg, 1, "");
            /* BridgeEnter carries the bridge's headers first. */
            char ev[8192];
            snprintf(ev, sizeof ev, "Event: BridgeEnter\r\nPrivilege: call,all\r\n%s%s", bridge,
                     strstr(buf, "Channel: "));
            feed_text(st, p, ev);
        }
    }
    long rss1 = bench_rss_kib();
    ami_state_stats s;
    ami_state_stats_get(st, &s);
    if (ami_state_count(st, AMI_STATE_CHANNEL) != channels ||
        ami_state_count(st, AMI_STATE_BRIDGE) != calls || ami_state_call_count(st) != calls)
        bench_die("store has %zu channels, %zu bridges, %zu calls",
                  ami_state_count(st, AMI_STATE_CHANNEL), ami_state_count(st, AMI_STATE_BRIDGE),
                  ami_state_call_count(st));
    /* The bridges are part of what tracking these channels costs: counted in. */
    printf("channels %u\n", channels);
    printf("rss_growth_kib %ld\n", rss1 - rss0);
    printf("rss_bytes_per_channel %.0f\n", (double)(rss1 - rss0) * 1024.0 / channels);
    printf("store_bytes_per_channel %.0f\n", (double)s.bytes / channels);
    ami_state_free(st);
    ami_parser_free(p);
    return 0;
}
