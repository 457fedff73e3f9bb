/* nats_consumer: follows amid's JetStream stream with a durable pull
 * consumer and prints one JSON line per message:
 *
 *   {"subject":"ami.pbx1.events.Newchannel","stream_seq":12,
 *    "ts":1764658000123456789,"msg_id":"pbx1:692e...:12","amid_seq":"12",
 *    "data":{...amid's WebSocket message...}}
 *
 * The consumer is durable: run it again with the same --durable name and
 * it resumes after the last message it acknowledged (AckAll on the last
 * message of each batch, synchronously, so a message printed is a message
 * acknowledged before the next batch is asked for).
 *
 *   nats_consumer [-s URL] [--stream AMI] [--subject 'ami.*.events.>']
 *                 [--durable NAME] [--creds FILE] [--drain]
 *
 * --drain exits once the stream has nothing more for this consumer (one
 * empty fetch of 1 s); without it the consumer follows forever. */
#include <jansson.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_msg(natsMsg *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "subject", json_string(natsMsg_GetSubject(m)));
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        json_object_set_new(o, "stream_seq", json_integer((json_int_t)meta->Sequence.Stream));
        /* when JetStream stored it, in nanoseconds since the epoch */
        json_object_set_new(o, "ts", json_integer((json_int_t)meta->Timestamp));
        jsMsgMetaData_Destroy(meta);
    }
    const char *id = NULL;
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id)
        json_object_set_new(o, "msg_id", json_string(id));
    const char *seq = NULL; /* the publishing amid's own sequence number */
    if (natsMsgHeader_Get(m, "Amid-Seq", &seq) == NATS_OK && seq)
        json_object_set_new(o, "amid_seq", json_string(seq));
    const char *data = natsMsg_GetData(m);
    int len = natsMsg_GetDataLength(m);
    json_t *d = data ? json_loadb(data, (size_t)len, 0, NULL) : NULL;
    json_object_set_new(o, "data", d ? d : json_stringn(data ? data : "", data ? (size_t)len : 0));
    char *txt = json_dumps(o, JSON_COMPACT);
    if (txt)
        puts(txt);
    free(txt);
    json_decref(o);
}

int main(int argc, char **argv)
{
    const char *url = "nats://127.0.0.1:4222", *stream = "AMI", *subject = "ami.*.events.>";
    const char *durable = "nats_consumer", *creds = NULL;
    int drain = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--stream") && i + 1 < argc)
            stream = argv[++i];
        else if (!strcmp(argv[i], "--subject") && i + 1 < argc)
            subject = argv[++i];
        else if (!strcmp(argv[i], "--durable") && i + 1 < argc)
            durable = argv[++i];
        else if (!strcmp(argv[i], "--creds") && i + 1 < argc)
            creds = argv[++i];
        else if (!strcmp(argv[i], "--drain"))
            drain = 1;
        else {
            fprintf(stderr, "usage: nats_consumer [-s URL] [--stream AMI] [--subject SUBJ] "
                            "[--durable NAME] [--creds FILE] [--drain]\n");
            return 2;
        }
    }
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK && creds)
        s = natsOptions_SetUserCredentialsFromFiles(opts, creds, NULL);
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, opts);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, NULL);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Config.AckPolicy = js_AckAll;
    so.Config.DeliverPolicy = js_DeliverAll;
    if (s == NATS_OK)
        s = js_PullSubscribe(&sub, js, subject, durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        fprintf(stderr, "nats_consumer: %s (%s, code %d)\n", natsStatus_GetText(s),
                nats_GetLastError(NULL), (int)jerr);
        return 1;
    }
    int rc = 0;
    for (;;) {
        natsMsgList list = {0};
        s = natsSubscription_Fetch(&list, sub, 256, 1000, &jerr);
        if (s == NATS_TIMEOUT) {
            if (drain)
                break;
            continue;
        }
        if (s != NATS_OK) {
            fprintf(stderr, "nats_consumer: fetch: %s\n", natsStatus_GetText(s));
            rc = 1;
            break;
        }
        for (int i = 0; i < list.Count; i++)
            print_msg(list.Msgs[i]);
        fflush(stdout);
        if (list.Count && natsMsg_AckSync(list.Msgs[list.Count - 1], NULL, &jerr) != NATS_OK) {
            fprintf(stderr, "nats_consumer: ack failed\n");
            rc = 1;
        }
        natsMsgList_Destroy(&list);
        if (rc)
            break;
    }
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    nats_Close();
    return rc;
}
