/* ami-sim: command-line options, start-up and shutdown. */
#include "pbx.h"
#include "replay_timeline.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: ami-sim [options]\n"
            "An Asterisk Manager Interface server that behaves like Asterisk 22's manager,\n"
            "for development, tests and benchmarks. TCP or TLS, one thread, poll() loop.\n"
            "\n"
            "Options:\n"
            "  --listen ADDR:PORT    where to listen (default 127.0.0.1:5038); IPv6 as\n"
            "                        [::1]:PORT; port 0 picks a free port. The chosen\n"
            "                        address is printed as \"listening on ADDR:PORT\".\n"
            "  --allow-remote        allow a non-loopback listen address (weak auth: never\n"
            "                        expose this to a network you do not own)\n"
            "  --tls-cert FILE       serve AMI over TLS with this certificate chain (PEM)\n"
            "  --tls-key FILE        the certificate's private key (PEM)\n"
            "  --tls-ca FILE         require a client certificate issued by this CA\n"
            "  --users FILE          users in manager.conf form: [name], secret =,\n"
            "                        read = class,..., write = class,...\n"
            "                        (default: one user admin/amp111, read=all write=all)\n"
            "  --auth-delay MS       delay before answering a failed Login, then the\n"
            "                        connection closes (default 1000, like Asterisk)\n"
            "  --write-timeout MS    drop a client whose socket accepts nothing for MS ms\n"
            "                        (default 100, like Asterisk; 0 disables)\n"
            "  --max-output BYTES    drop a client with more than BYTES unsent (default 64M)\n"
            "  --call-duration MS    how long an originated call stays up (default 2000)\n"
            "  --queues FILE         queues in queues.conf form: [name], strategy =,\n"
            "                        maxlen =, member => IFACE,PENALTY,NAME,... (default:\n"
            "                        the fixtures' support and sales queues)\n"
            "  --replay FILE         answer each action with the next response recorded\n"
            "                        in FILE (a fixture .raw) plus the events after it\n"
            "  --replay-timing       with --replay: send FILE's chunks with the TCP chunking\n"
            "                        and timing of its .timeline, bytes unchanged\n"
            "  --firehose N          after Login, send N events as fast as the client\n"
            "                        reads, then \"Event: SimDone\" with \"Count: N\"\n"
            "  --firehose-rate R     with --firehose: pace the events at R per second on\n"
            "                        the loop's timer, each stamped with SimSeq and\n"
            "                        SimSentUs (wall clock, microseconds, at the write)\n"
            "  --timestamp-events    manager.conf's timestampevents = yes: every event\n"
            "                        gets \"Timestamp: SEC.USEC\" after Privilege, stamped\n"
            "                        once (all sessions get the same bytes); firehose\n"
            "                        events when written\n"
            "  --fault NAME          misbehave (repeatable): %s\n"
            "  --trickle-delay MS    delay between single-byte writes of --fault trickle\n"
            "                        (default 2)\n"
            "  --verbose             log connections and drops to stderr\n"
            "  --record FILE         append every action received to FILE (tests)\n"
            "  --help                this text\n"
            "  --version             print the version\n"
            "\n"
            "Actions: BlindTransfer Bridge BridgeDestroy BridgeInfo BridgeKick BridgeList\n"
            "Challenge Command CoreSettings CoreShowChannels CoreStatus DeviceStateList\n"
            "Events Filter GetConfig Getvar Hangup ListCommands Login Logoff Originate Park\n"
            "ParkedCalls Parkinglots Ping QueueAdd QueuePause QueuePenalty QueueRemove\n"
            "QueueStatus QueueSummary Redirect Setvar Status UserEvent WaitEvent.\n"
            "Dialplan (context test): 300/301 queue support/sales, bridged dials\n"
            "Local/wait@test, moh plays hold music, Local/7NN@parkedcalls retrieves a\n"
            "parked call. See docs/ami-sim.md for details and limitations.\n",
            sim_fault_names());
}

static int parse_num(const char *s, long min, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int is_loopback(int family, const char *host)
{
    if (family == AF_INET) {
        struct in_addr a;
        inet_pton(AF_INET, host, &a);
        return (ntohl(a.s_addr) >> 24) == 127;
    }
    struct in6_addr a;
    inet_pton(AF_INET6, host, &a);
    if (IN6_IS_ADDR_LOOPBACK(&a))
        return 1;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
}

static int parse_listen(sim_options *o, const char *arg)
{
    char host[64];
    const char *port;
    if (arg[0] == '[') {
        const char *e = strchr(arg, ']');
        if (!e || e[1] != ':' || (size_t)(e - arg - 1) >= sizeof host)
            return -1;
        snprintf(host, sizeof host, "%.*s", (int)(e - arg - 1), arg + 1);
        port = e + 2;
    } else {
        const char *colon = strrchr(arg, ':');
        if (!colon) {
            snprintf(host, sizeof host, "127.0.0.1");
            port = arg;
        } else {
            if ((size_t)(colon - arg) >= sizeof host)
                return -1;
            snprintf(host, sizeof host, "%.*s", (int)(colon - arg), arg);
            port = colon + 1;
        }
    }
    if (strcmp(host, "localhost") == 0 || !host[0])
        snprintf(host, sizeof host, "127.0.0.1");
    long p;
    if (parse_num(port, 0, 65535, &p) != 0)
        return -1;
    unsigned char tmp[16];
    if (inet_pton(AF_INET, host, tmp) == 1)
        o->family = AF_INET;
    else if (inet_pton(AF_INET6, host, tmp) == 1)
        o->family = AF_INET6;
    else
        return -1;
    snprintf(o->host, sizeof o->host, "%s", host);
    o->port = (int)p;
    return 0;
}

enum {
    OPT_LISTEN = 256,
    OPT_ALLOW_REMOTE,
    OPT_USERS,
    OPT_AUTH_DELAY,
    OPT_WRITE_TIMEOUT,
    OPT_MAX_OUTPUT,
    OPT_CALL_DURATION,
    OPT_REPLAY,
    OPT_FIREHOSE,
    OPT_FIREHOSE_RATE,
    OPT_FAULT,
    OPT_TRICKLE,
    OPT_VERBOSE,
    OPT_RECORD,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_TLS_CA,
    OPT_QUEUES,
    OPT_HELP,
    OPT_VERSION,
    OPT_REPLAY_TIMING,
    OPT_TIMESTAMP_EVENTS
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
        {"users", required_argument, NULL, OPT_USERS},
        {"auth-delay", required_argument, NULL, OPT_AUTH_DELAY},
        {"write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT},
        {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
        {"call-duration", required_argument, NULL, OPT_CALL_DURATION},
        {"replay", required_argument, NULL, OPT_REPLAY},
        {"firehose", required_argument, NULL, OPT_FIREHOSE},
        {"firehose-rate", required_argument, NULL, OPT_FIREHOSE_RATE},
        {"fault", required_argument, NULL, OPT_FAULT},
        {"trickle-delay", required_argument, NULL, OPT_TRICKLE},
        {"verbose", no_argument, NULL, OPT_VERBOSE},
        {"record", required_argument, NULL, OPT_RECORD},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"tls-ca", required_argument, NULL, OPT_TLS_CA},
        {"queues", required_argument, NULL, OPT_QUEUES},
        {"replay-timing", no_argument, NULL, OPT_REPLAY_TIMING},
        {"timestamp-events", no_argument, NULL, OPT_TIMESTAMP_EVENTS},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    static sim s;
    sim_options *o = &s.opt;
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->family = AF_INET;
    o->port = 5038;
    o->auth_delay_ms = 1000;
    o->write_timeout_ms = 100;
    o->call_duration_ms = 2000;
    o->trickle_ms = 2;
    o->max_output = 64u << 20;
    s.lfd = -1;

    int opt;
    long v;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_LISTEN:
            if (parse_listen(o, optarg) != 0) {
                fprintf(stderr, "ami-sim: bad --listen '%s' (want ADDR:PORT or [V6]:PORT)\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_ALLOW_REMOTE:
            o->allow_remote = 1;
            break;
        case OPT_USERS:
            o->users_file = optarg;
            break;
        case OPT_AUTH_DELAY:
        case OPT_WRITE_TIMEOUT:
        case OPT_CALL_DURATION:
        case OPT_TRICKLE:
            if (parse_num(optarg, 0, 3600000, &v) != 0) {
                fprintf(stderr, "ami-sim: bad number '%s'\n", optarg);
                return 2;
            }
            if (opt == OPT_AUTH_DELAY)
                o->auth_delay_ms = (int)v;
            else if (opt == OPT_WRITE_TIMEOUT)
                o->write_timeout_ms = (int)v;
            else if (opt == OPT_CALL_DURATION)
                o->call_duration_ms = (int)v;
            else
                o->trickle_ms = (int)v;
            break;
        case OPT_MAX_OUTPUT:
        case OPT_FIREHOSE_RATE:
        case OPT_FIREHOSE: {
            char *end;
            unsigned long long n = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-' || (opt == OPT_MAX_OUTPUT && n < 4096) ||
                (opt == OPT_FIREHOSE_RATE && (n < 1 || n > 10000000))) {
                fprintf(stderr, "ami-sim: bad number '%s'\n", optarg);
                return 2;
            }
            if (opt == OPT_MAX_OUTPUT)
                o->max_output = (size_t)n;
            else if (opt == OPT_FIREHOSE_RATE)
                o->firehose_rate = n;
            else
                o->firehose = n;
            break;
        }
        case OPT_REPLAY:
            o->replay_file = optarg;
            break;
        case OPT_FAULT:
            if (sim_fault_parse(optarg, &o->faults) != 0) {
                fprintf(stderr, "ami-sim: unknown fault '%s' (known: %s)\n", optarg,
                        sim_fault_names());
                return 2;
            }
            break;
        case OPT_VERBOSE:
            o->verbose = 1;
            break;
        case OPT_RECORD:
            o->record_file = optarg;
            break;
        case OPT_REPLAY_TIMING:
            o->replay_timing = 1;
            break;
        case OPT_TIMESTAMP_EVENTS:
            o->timestamp_events = 1;
            break;
        case OPT_TLS_CERT:
            o->tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            o->tls_key = optarg;
            break;
        case OPT_TLS_CA:
            o->tls_ca = optarg;
            break;
        case OPT_QUEUES:
            o->queues_file = optarg;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            return 0;
        case OPT_VERSION:
            printf("ami-sim (libami %s), speaks AMI %s as Asterisk %s\n", ami_version(),
                   SIM_AMI_VERSION, SIM_AST_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ami-sim: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o->allow_remote && !is_loopback(o->family, o->host)) {
        fprintf(stderr, "ami-sim: refusing non-loopback address %s without --allow-remote\n",
                o->host);
        return 2;
    }

    s.start_ms = sim_now_ms();
    s.start_wall = time(NULL);
    srandom((unsigned)(s.start_wall ^ (getpid() << 16)));
    if (o->users_file) {
        if (sim_users_load(&s, o->users_file) != 0)
            return 1;
    } else {
        sim_users_default(&s);
    }
    if (o->replay_timing && !o->replay_file) {
        fprintf(stderr, "ami-sim: --replay-timing needs --replay FILE\n");
        return 2;
    }
    if (o->firehose_rate && !o->firehose) {
        fprintf(stderr, "ami-sim: --firehose-rate needs --firehose N\n");
        return 2;
    }
    if (o->replay_file && sim_replay_load(&s, o->replay_file) != 0)
        return 1;
    sim_pbx_init(&s);
    if (o->queues_file) {
        if (sim_queues_load(&s, o->queues_file) != 0) {
            sim_pbx_free(&s);
            sim_users_free(&s);
            sim_replay_free(&s);
            return 1;
        }
    } else {
        sim_queues_default(&s);
    }
    sim_devstate_init(&s);
    if (o->replay_timing && sim_timeline_load(o->replay_file) != 0)
        return 1;
    sim_var_set(&s.globals, "GLOBALVAR", "initial-value");
    if (o->firehose)
        sim_firehose_init(&s);

    if (o->record_file && !(s.record = fopen(o->record_file, "a"))) {
        fprintf(stderr, "ami-sim: cannot open --record %s\n", o->record_file);
        return 1;
    }
    if (sim_tls_init(&s) != 0)
        return 1;
    int rc = 1;
    if (sim_listen(&s) == 0)
        rc = sim_run(&s);

    while (s.conns) {
        sim_conn *c = s.conns;
        s.conns = c->next;
        sim_conn_free(c);
    }
    if (s.lfd >= 0)
        close(s.lfd);
    if (s.record)
        fclose(s.record);
    sim_calls_free(&s);
    sim_pbx_free(&s);
    sim_vars_free(&s.globals);
    sim_users_free(&s);
    sim_replay_free(&s);
    sim_timeline_free();
    sim_buf_free(&s.firehose_block);
    sim_tls_free(&s);
    return rc;
}
