/* nats_action: sends one action to amid over NATS request-reply and
 * prints the answer (the body POST /v1/servers/S/actions would give, with
 * "status"):
 *
 *   echo '{"Action":"Ping"}' | nats_action -s nats://127.0.0.1:4222 ami.pbx1.action
 *
 * Reads the request body from standard input (at most 64 KiB); waits at
 * most --timeout ms (default 15000) for the answer. Exits 0 when an answer
 * came, 1 otherwise (no amid listening: "no responders"). */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *url = "nats://127.0.0.1:4222", *subject = NULL, *creds = NULL;
    long timeout = 15000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--creds") && i + 1 < argc)
            creds = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout = strtol(argv[++i], NULL, 10);
        else if (!subject && argv[i][0] != '-')
            subject = argv[i];
        else
            subject = NULL, i = argc;
    }
    if (!subject || timeout <= 0) {
        fprintf(stderr,
                "usage: nats_action [-s URL] [--creds FILE] [--timeout MS] SUBJECT < body\n");
        return 2;
    }
    static char body[65536];
    size_t n = fread(body, 1, sizeof body, stdin);
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsMsg *reply = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK && creds)
        s = natsOptions_SetUserCredentialsFromFiles(opts, creds, NULL);
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, opts);
    if (s == NATS_OK)
        s = natsConnection_Request(&reply, nc, subject, body, (int)n, timeout);
    int rc = 0;
    if (s == NATS_OK) {
        fwrite(natsMsg_GetData(reply), 1, (size_t)natsMsg_GetDataLength(reply), stdout);
        putchar('\n');
    } else {
        fprintf(stderr, "nats_action: %s\n", natsStatus_GetText(s));
        rc = 1;
    }
    natsMsg_Destroy(reply);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    nats_Close();
    return rc;
}
