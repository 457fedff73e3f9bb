/*
 * The store's cost without the network: a stream of 64 concurrent calls,
 * each Newchannel, VarSet, DialBegin, Newstate, Hangup (the mix issue 10
 * names for the firehose), parsed from memory again and again, once only
 * counted (what an event callback does) and once also fed to a live-state
 * store. Process CPU time, so other load on the machine matters less than
 * in the loopback figure. Prints both rates and their ratio.
 *
 * usage: state_feed_bench [EVENTS]
 */
#include "common.h"

#include <ami/state.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CALLS 64

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t event(char *b, size_t cap, const char *name, unsigned id, int up, const char *tail)
{
    return (size_t)snprintf(
        b, cap,
        "Event: %s\r\nPrivilege: call,all\r\nChannel: Local/100@test-%08x;1\r\n"
        "ChannelState: %d\r\nChannelStateDesc: %s\r\nCallerIDNum: 5551234\r\n"
        "CallerIDName: AMI Test\r\nConnectedLineNum: 5551234\r\nConnectedLineName: AMI Test\r\n"
        "Language: en\r\nAccountCode: \r\nContext: test\r\nExten: 100\r\nPriority: 1\r\n"
        "Uniqueid: 1796172835.%u\r\nLinkedid: 1796172835.%u\r\n%s\r\n",
        name, id, up ? 6 : 0, up ? "Up" : "Down", id, id, tail);
}

/* One round: every call goes through its five events, interleaved so that
 * 64 calls are up at once; ids move on each round. */
static size_t make_round(char *buf, size_t cap, unsigned base)
{
    size_t n = 0;
    static const char *const dial =
        "DestChannel: PJSIP/200-00000001\r\nDestChannelState: 0\r\nDestUniqueid: none\r\n"
        "DialString: 200\r\n";
    for (int step = 0; step < 5; step++) {
        for (unsigned c = 0; c < CALLS; c++) {
            unsigned id = base + c;
            switch (step) {
            case 0:
                n += event(buf + n, cap - n, "Newchannel", id, 0, "");
                break;
            case 1:
                n += event(buf + n, cap - n, "VarSet", id, 0, "Variable: X\r\nValue: 1\r\n");
                break;
            case 2:
                n += event(buf + n, cap - n, "DialBegin", id, 0, dial);
                break;
            case 3:
                n += event(buf + n, cap - n, "Newstate", id, 1, "");
                break;
            default:
                n += event(buf + n, cap - n, "Hangup", id, 1,
                           "Cause: 16\r\nCause-txt: Normal Clearing\r\n");
                break;
            }
        }
    }
    return n;
}

static double run(const char *const *rounds, const size_t *lens, size_t nrounds, uint64_t events,
                  ami_state *st, uint64_t *seen)
{
    ami_parser *p;
    if (ami_parser_create(&p, 0))
        bench_die("parser");
    uint64_t n = 0, headers = 0;
    double t0 = cpu_now();
    for (size_t r = 0; n < events; r = (r + 1) % nrounds) {
        if (ami_parser_feed(p, rounds[r], lens[r]))
            bench_die("feed");
        const ami_packet *pk;
        while (ami_parser_next(p, &pk) == 1) {
            n++;
            headers += ami_packet_count(pk);
            if (st && ami_state_feed_event(st, pk) < 0)
                bench_die("state");
        }
    }
    double t1 = cpu_now();
    ami_parser_free(p);
    *seen = n + (headers == 0);
    return t1 - t0;
}

int main(int argc, char **argv)
{
    uint64_t events = argc > 1 ? bench_arg_u64(argv[1], "EVENTS") : 5000000;
    enum { ROUNDS = 16 };
    static char *rounds[ROUNDS];
    size_t lens[ROUNDS];
    for (unsigned r = 0; r < ROUNDS; r++) {
        rounds[r] = malloc(1 << 20);
        lens[r] = make_round(rounds[r], 1 << 20, r * CALLS);
    }
    uint64_t a, b;
    double base = run((const char *const *)rounds, lens, ROUNDS, events, NULL, &a);
    ami_state *st;
    if (ami_state_create(&st))
        bench_die("state");
    double with = run((const char *const *)rounds, lens, ROUNDS, events, st, &b);
    if (ami_state_count(st, AMI_STATE_CHANNEL) != 0)
        bench_die("state: %zu channels left", ami_state_count(st, AMI_STATE_CHANNEL));
    ami_state_stats s;
    ami_state_stats_get(st, &s);
    printf("events %llu\n", (unsigned long long)b);
    printf("parse_events_per_s %.0f\n", (double)a / base);
    printf("state_events_per_s %.0f\n", (double)b / with);
    printf("ratio %.4f\n", ((double)b / with) / ((double)a / base));
    printf("applied %llu\n", (unsigned long long)s.applied);
    ami_state_free(st);
    for (unsigned r = 0; r < ROUNDS; r++)
        free(rounds[r]);
    return 0;
}
