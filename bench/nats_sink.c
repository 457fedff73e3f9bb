/* nats_sink: the counting consumer of bench/nats_bench.py. Follows amid's
 * JetStream stream with a durable pull consumer (as a real consumer
 * would: AckAll per batch) and, for every paced firehose event
 * (ami-sim --firehose-rate stamps SimSeq and SimSentUs), checks the
 * sequence per server and takes the latency from the sim's write to this
 * read. Prints `key value` lines when it has seen --expect firehose
 * events, or when nothing new arrived for --idle seconds:
 *
 *   events N            firehose events counted (each once)
 *   other N             other messages (FullyBooted, SimDone, gaps, ...)
 *   duplicates N        an event whose SimSeq its server had already given
 *   missing N           SimSeq numbers skipped
 *   gap_messages N      <prefix>.<server>.gap messages
 *   servers N           distinct servers seen
 *   event_bytes N       mean JSON bytes of a counted event
 *   events_per_s R      counted events / (last - first arrival)
 *   p50_us P  p99_us P  max_us P   sim write -> this read
 *
 *   nats_sink -s URL --stream AMI --subject 'ami.*.events.>' --durable D
 *             --expect N [--idle S]
 *
 * Only for benchmarks: parsing looks for the two stamps by substring in
 * amid's JSON, which is what amid writes, not a general JSON reader. */
#include <nats/nats.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SERVERS 4096
#define LAT_BUCKETS (60 * 1000 * 10) /* 100 us buckets up to 60 s */

typedef struct {
    char name[64];
    uint64_t next; /* next SimSeq expected */
} server_seq;

static server_seq servers[MAX_SERVERS];
static size_t n_servers;
static uint32_t *lat;
static uint64_t lat_max_us, events, other, dups, missing, gap_msgs, event_bytes;
static int64_t first_us, last_us;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The string value of "key":"..." in amid's JSON, copied to out. */
static int field(const char *data, int len, const char *key, char *out, size_t cap)
{
    char pat[64];
    int pl = snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *end = data + len;
    for (const char *p = data; p + pl < end; p++) {
        p = memchr(p, '"', (size_t)(end - p));
        if (!p || end - p < pl)
            return -1;
        if (memcmp(p, pat, (size_t)pl) != 0)
            continue;
        const char *v = p + pl, *q = memchr(v, '"', (size_t)(end - v));
        if (!q || (size_t)(q - v) >= cap)
            return -1;
        memcpy(out, v, (size_t)(q - v));
        out[q - v] = '\0';
        return 0;
    }
    return -1;
}

static server_seq *server_for(const char *name)
{
    for (size_t i = 0; i < n_servers; i++)
        if (!strcmp(servers[i].name, name))
            return &servers[i];
    if (n_servers == MAX_SERVERS)
        return NULL;
    server_seq *s = &servers[n_servers++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->next = 1;
    return s;
}

static void count(natsMsg *m, int64_t t)
{
    const char *subj = natsMsg_GetSubject(m);
    const char *data = natsMsg_GetData(m);
    int len = natsMsg_GetDataLength(m);
    size_t sl = strlen(subj);
    if (sl > 4 && !strcmp(subj + sl - 4, ".gap")) {
        gap_msgs++;
        return;
    }
    char srv[64], seq[32], sent[32];
    if (!data || field(data, len, "server", srv, sizeof srv) ||
        field(data, len, "SimSeq", seq, sizeof seq) ||
        field(data, len, "SimSentUs", sent, sizeof sent)) {
        other++;
        return;
    }
    server_seq *s = server_for(srv);
    uint64_t n = strtoull(seq, NULL, 10);
    if (!s)
        return;
    if (n < s->next) {
        dups++;
        return;
    }
    missing += n - s->next;
    s->next = n + 1;
    events++;
    event_bytes += (uint64_t)len;
    if (!first_us)
        first_us = t;
    last_us = t;
    int64_t d = t - strtoll(sent, NULL, 10);
    if (d < 0)
        d = 0;
    if ((uint64_t)d > lat_max_us)
        lat_max_us = (uint64_t)d;
    size_t b = (size_t)(d / 100);
    lat[b < LAT_BUCKETS ? b : LAT_BUCKETS - 1]++;
}

static uint64_t percentile(double p)
{
    uint64_t want = (uint64_t)((double)events * p), seen = 0;
    for (size_t b = 0; b < LAT_BUCKETS; b++) {
        seen += lat[b];
        if (seen > want)
            return (uint64_t)b * 100 + 50;
    }
    return lat_max_us;
}

int main(int argc, char **argv)
{
    const char *url = "nats://127.0.0.1:4222", *stream = "AMI", *subject = "ami.*.events.>";
    const char *durable = "sink";
    uint64_t expect = 0;
    int idle_s = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-s"))
            url = argv[i + 1];
        else if (!strcmp(argv[i], "--stream"))
            stream = argv[i + 1];
        else if (!strcmp(argv[i], "--subject"))
            subject = argv[i + 1];
        else if (!strcmp(argv[i], "--durable"))
            durable = argv[i + 1];
        else if (!strcmp(argv[i], "--expect"))
            expect = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--idle"))
            idle_s = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "nats_sink: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    lat = calloc(LAT_BUCKETS, sizeof *lat);
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Config.AckPolicy = js_AckAll;
    so.Config.MaxAckPending = 65536;
    natsStatus s = natsConnection_ConnectTo(&nc, url);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, NULL);
    if (s == NATS_OK)
        s = js_PullSubscribe(&sub, js, subject, durable, NULL, &so, &jerr);
    if (s != NATS_OK || !lat) {
        fprintf(stderr, "nats_sink: %s (%d)\n", natsStatus_GetText(s), (int)jerr);
        return 1;
    }
    printf("ready 1\n");
    fflush(stdout);
    int64_t quiet_since = now_us();
    while (!expect || events < expect) {
        natsMsgList list = {0};
        s = natsSubscription_Fetch(&list, sub, 1024, 1000, NULL);
        int64_t t = now_us();
        if (s == NATS_TIMEOUT || list.Count == 0) {
            natsMsgList_Destroy(&list);
            if (t - quiet_since > (int64_t)idle_s * 1000000)
                break;
            continue;
        }
        if (s != NATS_OK) {
            fprintf(stderr, "nats_sink: fetch: %s\n", natsStatus_GetText(s));
            natsMsgList_Destroy(&list);
            break;
        }
        quiet_since = t;
        for (int i = 0; i < list.Count; i++)
            count(list.Msgs[i], t);
        natsMsg_Ack(list.Msgs[list.Count - 1], NULL);
        natsMsgList_Destroy(&list);
    }
    double secs = last_us > first_us ? (double)(last_us - first_us) / 1e6 : 0;
    printf(
        "events %llu\nother %llu\nduplicates %llu\nmissing %llu\ngap_messages %llu\n"
        "servers %zu\nevent_bytes %llu\nevents_per_s %.0f\np50_us %llu\np99_us %llu\nmax_us %llu\n",
        (unsigned long long)events, (unsigned long long)other, (unsigned long long)dups,
        (unsigned long long)missing, (unsigned long long)gap_msgs, n_servers,
        (unsigned long long)(events ? event_bytes / events : 0),
        secs > 0 ? (double)events / secs : 0, (unsigned long long)percentile(0.50),
        (unsigned long long)percentile(0.99), (unsigned long long)lat_max_us);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    free(lat);
    return 0;
}
