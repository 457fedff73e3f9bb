/*
 * Watch several Asterisk servers at once in one loop, following each across
 * restarts:
 *
 *   multi_server -u admin -s amp111 -H pbx1 -H pbx2:5039 [-m] [-t SECONDS]
 *
 * Every event is printed as one line tagged with its server, e.g.
 *   [pbx1:5038] Newchannel Channel=PJSIP/100-0001 ...
 * and every state change (up, lost and why, reconnecting) as well. After a
 * reconnect the AmiGap notice says which window of events was missed.
 * Uses the header-only poll() loop; any of the other adapters would do.
 */
#include <ami/adapters/poll.h>
#include <ami/async.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERVERS 32

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void on_event(ami_async *a, const ami_packet *ev, void *ud)
{
    (void)ud;
    printf("[%s] %s", ami_async_server(a),
           ami_packet_event_name(ev) ? ami_packet_event_name(ev) : "?");
    for (size_t i = 1; i < ami_packet_count(ev); i++) {
        const char *k, *v;
        if (ami_packet_header(ev, i, &k, NULL, &v, NULL) == 0)
            printf(" %s=%s", k, v);
    }
    printf("\n");
    fflush(stdout);
}

static void on_state(ami_async *a, ami_async_state st, ami_async_reason why, void *ud)
{
    (void)ud;
    if (why == AMI_ASYNC_REASON_NONE)
        printf("[%s] state %s\n", ami_async_server(a), ami_async_state_name(st));
    else
        printf("[%s] state %s (%s: %s)\n", ami_async_server(a), ami_async_state_name(st),
               ami_async_reason_name(why), ami_async_errmsg(a));
    fflush(stdout);
}

static int should_stop(void *ud)
{
    (void)ud;
    return interrupted;
}

/* "host", "host:port", "[v6]" or "[v6]:port". */
static int split_host(const char *arg, char *host, size_t len, unsigned *port)
{
    *port = 5038;
    const char *colon = NULL;
    if (arg[0] == '[') {
        const char *end = strchr(arg, ']');
        if (!end)
            return -1;
        snprintf(host, len, "%.*s", (int)(end - arg - 1), arg + 1);
        colon = end[1] == ':' ? end + 1 : NULL;
    } else {
        colon = strrchr(arg, ':');
        if (colon && strchr(arg, ':') != colon)
            colon = NULL; /* a bare IPv6 literal */
        snprintf(host, len, "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
    }
    if (colon) {
        char *end;
        unsigned long p = strtoul(colon + 1, &end, 10);
        if (*end || p == 0 || p > 65535)
            return -1;
        *port = (unsigned)p;
    }
    return host[0] ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *user = "admin";
    const char *secret = getenv("AMI_SECRET");
    const char *hosts[MAX_SERVERS];
    size_t n = 0;
    unsigned flags = AMI_LOGIN_PLAIN;
    int seconds = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-H") == 0 && i + 1 < argc && n < MAX_SERVERS)
            hosts[n++] = argv[++i];
        else if (strcmp(argv[i], "-u") == 0 && i + 1 < argc)
            user = argv[++i];
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            secret = argv[++i];
        else if (strcmp(argv[i], "-m") == 0)
            flags = AMI_LOGIN_MD5;
        else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s -H host[:port] [-H ...] [-u user] [-s secret] [-m] [-t seconds]\n"
                    "(the secret may also come from $AMI_SECRET)\n",
                    argv[0]);
            return 2;
        }
    }
    if (n == 0 || !secret) {
        fprintf(stderr, "%s: need at least one -H and a secret (-s or $AMI_SECRET)\n", argv[0]);
        return 2;
    }
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);

    ami_async *handles[MAX_SERVERS] = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char host[256];
        unsigned port;
        if (split_host(hosts[i], host, sizeof host, &port) != 0) {
            fprintf(stderr, "%s: bad server '%s'\n", argv[0], hosts[i]);
            rc = 2;
            break;
        }
        if (ami_async_create(&handles[i]) != 0 ||
            ami_async_set_server(handles[i], host, port) != 0 ||
            ami_async_set_login(handles[i], user, secret, flags) != 0) {
            fprintf(stderr, "%s: cannot set up %s\n", argv[0], hosts[i]);
            rc = 1;
            break;
        }
        ami_async_set_keepalive(handles[i], 10000, 5000);
        ami_async_set_event_cb(handles[i], on_event, NULL);
        ami_async_set_state_cb(handles[i], on_state, NULL);
        ami_async_start(handles[i]);
    }
    if (rc == 0)
        ami_poll_loop(handles, n, seconds < 0 ? -1 : seconds * 1000, should_stop, NULL);
    for (size_t i = 0; i < n; i++)
        ami_async_free(handles[i]);
    return rc;
}
