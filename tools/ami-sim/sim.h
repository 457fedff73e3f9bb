/*
 * ami-sim: an AMI server that behaves like Asterisk 22's manager.c, for
 * development, demos, tests and benchmarks. Shared types of the tool; each
 * .c file does one job (see docs/ami-sim.md for the map).
 */
#ifndef AMI_SIM_H
#define AMI_SIM_H

#include <ami/ami.h>

#include <limits.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

/* Permission classes: the same bits as Asterisk's manager.h, because
 * numeric event masks ("Events: 2") are those bits on the wire. */
#define SIM_SYSTEM    (1 << 0)
#define SIM_CALL      (1 << 1)
#define SIM_LOG       (1 << 2)
#define SIM_VERBOSE   (1 << 3)
#define SIM_COMMAND   (1 << 4)
#define SIM_AGENT     (1 << 5)
#define SIM_USER      (1 << 6)
#define SIM_CONFIG    (1 << 7)
#define SIM_DTMF      (1 << 8)
#define SIM_REPORTING (1 << 9)
#define SIM_CDR       (1 << 10)
#define SIM_DIALPLAN  (1 << 11)
#define SIM_ORIGINATE (1 << 12)
#define SIM_AGI       (1 << 13)
#define SIM_CC        (1 << 14)
#define SIM_AOC       (1 << 15)
#define SIM_TEST      (1 << 16)
#define SIM_SECURITY  (1 << 17)
#define SIM_MESSAGE   (1 << 19)
#define SIM_ALL       INT_MAX

#define SIM_AMI_VERSION "11.0.0"
#define SIM_AST_VERSION "22.10.1"

/* Fault modes (--fault NAME), combinable. */
enum {
    SIM_FAULT_CLOSE_MID = 1 << 0,
    SIM_FAULT_STOP_READING = 1 << 1,
    SIM_FAULT_STALL = 1 << 2,
    SIM_FAULT_GARBAGE = 1 << 3,
    SIM_FAULT_OVERSIZE = 1 << 4,
    SIM_FAULT_NO_BANNER = 1 << 5,
    SIM_FAULT_WRONG_BANNER = 1 << 6,
    SIM_FAULT_TRICKLE = 1 << 7
};

/* A growable byte buffer with a read offset, so consuming from the front is
 * cheap. Allocation failure ends the process: this is a development server
 * and a half-sent packet would be worse than a clear exit. */
typedef struct sim_buf {
    char *data;
    size_t off, len, cap;
} sim_buf;

void sim_buf_append(sim_buf *b, const char *s, size_t n);
void sim_buf_puts(sim_buf *b, const char *s);
void sim_buf_printf(sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "Key: value\r\n" */
void sim_hdr(sim_buf *b, const char *key, const char *value);
void sim_buf_consume(sim_buf *b, size_t n);
size_t sim_buf_pending(const sim_buf *b);
void sim_buf_reset(sim_buf *b);
void sim_buf_free(sim_buf *b);
/* NUL-terminates the pending bytes (not counted in len) and returns them. */
const char *sim_buf_cstr(sim_buf *b);

void *sim_xmalloc(size_t n);
void *sim_xrealloc(void *p, size_t n);
char *sim_xstrdup(const char *s);

typedef struct sim_user {
    struct sim_user *next;
    char *name;
    char *secret;
    int readperm;
    int writeperm;
} sim_user;

typedef struct sim_var {
    struct sim_var *next;
    char *name;
    char *value;
} sim_var;

typedef struct sim_filter {
    struct sim_filter *next;
    regex_t re;
    int exclude;
} sim_filter;

typedef struct sim_chan {
    struct sim_chan *next;
    struct sim_call *call;
    char name[128];
    char uniqueid[160]; /* Asterisk allows 150 (ChannelId) */
    char linkedid[160];
    int state; /* 0 Down, 4 Ring, 6 Up */
    char cid_num[64], cid_name[64];
    char conn_num[64], conn_name[64];
    char context[64], exten[64];
    int priority;
    char app[64], appdata[128];
    char bridge[40];
    uint64_t created_ms;
    time_t created_wall;
    sim_var *vars;
} sim_chan;

typedef struct sim_call {
    struct sim_call *next;
    sim_chan *one, *two; /* the Local pair ;1 and ;2 (two is NULL for non-Local) */
    int step;
    uint64_t next_at;
    unsigned owner_conn; /* connection id of the originator (0 = gone) */
    char *action_id;     /* originator's ActionID, NULL when none */
    int async;
    int cause;
    char dest_context[64], dest_exten[64], dest_app[64], dest_data[128];
    char device[128]; /* "Local/100@test" */
    int answered;
} sim_call;

struct sim;

typedef struct sim_conn {
    struct sim_conn *next;
    struct sim *sim;
    unsigned id;
    int fd;
    ami_parser *parser;
    sim_buf out;
    uint64_t blocked_since; /* 0: not blocked on a full socket */
    int closing;            /* close once out is flushed */
    int busy;               /* a synchronous Originate is pending */
    int dead;               /* close now */
    int cut_done;           /* --fault close-mid-packet already applied */
    int banner_done;

    int authed;
    const sim_user *user;
    int send_events;
    char challenge[24];
    uint64_t hold_until; /* failed login: answer at this time, then close */
    char *hold_action_id;
    int has_hold;

    sim_filter *filters;

    /* WaitEvent in progress: further actions wait, events are collected. */
    int waiting;
    uint64_t wait_deadline;
    char *wait_action_id;
    sim_buf waitbuf;

    uint64_t firehose_left;
    int firehose_on;
    uint64_t firehose_t0;   /* --firehose-rate: when pacing started (ms) */
    uint64_t firehose_sent; /* firehose events written so far */
    int oversize_on;
    uint64_t next_trickle;

    size_t replay_pos;
    /* --replay-timing (replay_timeline.c) */
    size_t tl_pos;     /* next timeline line */
    size_t tl_rx;      /* bytes the client sent */
    uint64_t tl_since; /* when the previous timeline line was done */

    char local_desc[96], remote_desc[96];

    void *tls;        /* SSL *, NULL for plain TCP */
    int io_wait_read; /* TLS needs the peer's bytes before it can write */
} sim_conn;

typedef struct sim_replay_unit {
    char *data;
    size_t len;
} sim_replay_unit;

typedef struct sim_options {
    char host[64];
    int port;
    int family;
    int allow_remote;
    const char *users_file;
    int auth_delay_ms;
    int write_timeout_ms;
    int call_duration_ms;
    int trickle_ms;
    size_t max_output;
    const char *replay_file;
    int replay_timing; /* --replay-timing: follow FILE's .timeline */
    uint64_t firehose;
    uint64_t firehose_rate; /* --firehose-rate: events per second, 0 = as fast as read */
    int timestamp_events;   /* --timestamp-events: manager.conf timestampevents = yes */
    unsigned faults;
    int verbose;
    const char *record_file; /* --record: append every action received */
    const char *tls_cert;    /* serve TLS with this certificate chain (PEM) */
    const char *tls_key;
    const char *tls_ca;      /* require client certificates issued by this CA */
    const char *queues_file; /* --queues: queues.conf-like file (pbx.h) */
} sim_options;

typedef struct sim {
    sim_options opt;
    int lfd;
    int sigfd[2];
    sim_conn *conns;
    unsigned next_conn_id;
    sim_user *users;
    sim_var *globals;
    sim_call *calls;
    sim_chan *chans;
    unsigned chan_seq;
    unsigned uniq_seq;
    unsigned calls_processed;
    uint64_t start_ms;
    time_t start_wall;

    sim_replay_unit *replay;
    size_t replay_count;
    char *replay_banner; /* banner line plus any events recorded before the first response */
    size_t replay_banner_len;

    sim_buf firehose_block;
    uint64_t firehose_block_events;
    long long last_stamp_us; /* --timestamp-events: the last Timestamp given */

    void *tls_ctx; /* SSL_CTX *, NULL when serving plain TCP */
    FILE *record;  /* --record */

    struct sim_pbx *pbx; /* bridges, queues, parking, device states (pbx.h) */
} sim;

/* clock.c */
uint64_t sim_now_ms(void);

/* users.c */
int sim_perm_parse(const char *s);
/* Asterisk's "Events:" value: on/off/yes/no, a number, or a class list;
 * -1 when nothing in it is known... like strings_to_mask(). */
int sim_events_mask(const char *s);
/* "call,all" or "<none>" into buf. */
void sim_perm_str(int perm, char *buf, size_t n);
int sim_users_load(sim *s, const char *path);
void sim_users_default(sim *s);
const sim_user *sim_user_find(const sim *s, const char *name);
void sim_users_free(sim *s);

/* server.c */
int sim_listen(sim *s);
int sim_run(sim *s);
void sim_request_stop(void);

/* conn.c */
sim_conn *sim_conn_new(sim *s, int fd);
void sim_conn_free(sim_conn *c);
sim_conn *sim_conn_by_id(sim *s, unsigned id);
/* Queue bytes; applies --fault close-mid-packet to responses. */
void sim_conn_send(sim_conn *c, const char *data, size_t len);
void sim_conn_send_response(sim_conn *c, sim_buf *b);
int sim_conn_on_readable(sim_conn *c, uint64_t now);
int sim_conn_flush(sim_conn *c, uint64_t now);
int sim_conn_wants_read(const sim_conn *c);
/* Process actions that were held back (after WaitEvent ends). */
void sim_conn_resume(sim_conn *c);
uint64_t sim_conn_deadline(const sim_conn *c);
void sim_conn_timers(sim_conn *c, uint64_t now);

/* tls.c: --tls-cert/--tls-key/--tls-ca. The io calls behave like
 * recv/send (-1 with errno EAGAIN when blocked) whether TLS is on or not. */
int sim_tls_init(sim *s);
void sim_tls_free(sim *s);
int sim_tls_conn_start(sim_conn *c);
void sim_tls_conn_free(sim_conn *c);
ssize_t sim_io_recv(sim_conn *c, char *buf, size_t len);
ssize_t sim_io_send(sim_conn *c, const char *buf, size_t len);
/* Bytes TLS decoded but not yet returned (invisible to poll()). */
size_t sim_io_pending(const sim_conn *c);

/* respond.c: Asterisk's astman_send_* helpers. */
void sim_resp_start(sim_buf *b, const char *response, const char *action_id);
void sim_send_error(sim_conn *c, const char *action_id, const char *msg);
void sim_send_ack(sim_conn *c, const char *action_id, const char *msg);
void sim_send_list_start(sim_conn *c, const char *action_id, const char *msg);

/* actions.c */
void sim_dispatch(sim_conn *c, const ami_packet *p);
/* Name, synopsis and write class of every action the sim implements. */
typedef struct sim_action_def {
    const char *name;
    const char *synopsis;
    int authority;
    void (*fn)(sim_conn *c, const ami_packet *p, const char *id);
} sim_action_def;
const sim_action_def *sim_actions(size_t *count);

/* auth.c */
void sim_action_login(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_challenge(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_logoff(sim_conn *c, const ami_packet *p, const char *id);
void sim_conn_hold_expired(sim_conn *c);
/* FullyBooted, SuccessfulAuth, and the firehose when enabled. */
void sim_conn_after_login(sim_conn *c);

/* cli.c */
void sim_action_command(sim_conn *c, const ami_packet *p, const char *id);

/* vars.c */
const char *sim_var_get(sim_var *list, const char *name);
void sim_var_set(sim_var **list, const char *name, const char *value);
void sim_vars_free(sim_var **list);
void sim_action_getvar(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_setvar(sim_conn *c, const ami_packet *p, const char *id);

/* events.c */
/* Deliver an event (full text, "\r\n\r\n" included) of class `cls` to
 * every logged-in connection whose read permission, Events mask and
 * filters let it through. */
void sim_broadcast(sim *s, int cls, const char *text, size_t len);
/* Same for one connection only. */
void sim_deliver(sim_conn *c, int cls, const char *text, size_t len);
void sim_action_events(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_filter(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_userevent(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_waitevent(sim_conn *c, const ami_packet *p, const char *id);
void sim_wait_finish(sim_conn *c);
void sim_filters_free(sim_conn *c);

/* chan.c */
sim_chan *sim_chan_new(sim *s, const char *name, const char *linkedid);
void sim_chan_free(sim *s, sim_chan *ch);
sim_chan *sim_chan_find(sim *s, const char *name);
/* The 14 standard channel headers, each key prefixed with `prefix`. */
void sim_chan_headers(sim_buf *b, const char *prefix, const sim_chan *ch);
const char *sim_state_desc(int state);
size_t sim_chan_count(const sim *s);
/* "HH:MM:SS" since the channel was created. */
void sim_chan_duration(const sim_chan *ch, uint64_t now, char *buf, size_t n);
/* Set a channel variable and broadcast its VarSet event. */
void sim_chan_setvar(sim *s, sim_chan *ch, const char *name, const char *value);
/* Broadcast "Event: NAME" with the channel's headers plus `extra` (raw
 * "Key: value\r\n" lines, may be NULL). */
void sim_chan_event(sim *s, int cls, const char *name, const sim_chan *ch, const char *extra);

/* calls.c */
void sim_action_originate(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_hangup(sim_conn *c, const ami_packet *p, const char *id);
/* Hang up the call of `ch` now (its remaining steps run at once). */
void sim_call_hangup(sim *s, sim_call *call, int cause);
void sim_calls_run(sim *s, uint64_t now);
uint64_t sim_calls_next_deadline(const sim *s);
void sim_calls_free(sim *s);
size_t sim_calls_active(const sim *s);

/* lists.c */
void sim_action_coreshowchannels(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_status(sim_conn *c, const ami_packet *p, const char *id);

/* info.c */
void sim_action_ping(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_listcommands(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_coresettings(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_corestatus(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_getconfig(sim_conn *c, const ami_packet *p, const char *id);
/* "7 seconds", "1 minute, 5 seconds", like Asterisk's print_uptimestr. */
void sim_uptime_str(long secs, char *buf, size_t n);

/* dialplan.c: the fixture server's [test] context. */
typedef struct sim_prio {
    const char *exten;
    int prio;
    const char *app;
    const char *data;
    int line;
} sim_prio;
const sim_prio *sim_dialplan(size_t *count);

/* replay.c */
int sim_replay_load(sim *s, const char *path);
void sim_replay_free(sim *s);
void sim_replay_action(sim_conn *c, const ami_packet *p);

/* timestamp.c: --timestamp-events. */
long long sim_wall_us(void); /* CLOCK_REALTIME in microseconds */
/* The wall clock for the next event's Timestamp, above every earlier one. */
long long sim_stamp_next(sim *s);
/* Where Timestamp goes in an event's text: after its Privilege line (after
 * the first line when there is none); 0 when the text has no line end. */
size_t sim_event_stamp_at(const char *text, size_t len);
/* "Timestamp: SEC.USEC\r\n" */
void sim_buf_put_stamp(sim_buf *b, long long us);
/* The event text with its Timestamp line inserted. */
void sim_buf_put_stamped(sim_buf *b, const char *text, size_t len, long long us);

/* firehose.c */
void sim_firehose_init(sim *s);
/* Appends event i of the pre-rendered block without its blank line, with
 * a Timestamp of `us` under --timestamp-events. */
void sim_firehose_put(sim_conn *c, size_t i, long long us);
/* Top up the output buffer of a connection with firehose or oversize
 * bytes while it is below the low-water mark. */
void sim_generate(sim_conn *c);

/* firehose_rate.c: --firehose-rate pacing. */
/* Append the events due by now (at most c->firehose_left), cycling through
 * the pre-rendered block, each stamped at the moment it is appended. */
void sim_firehose_paced(sim_conn *c, size_t nblock);
/* Whether the connection has firehose output to make now. */
int sim_firehose_due(const sim_conn *c, uint64_t now);
/* When the next paced event is due (AMI_NO_DEADLINE when not pacing). */
uint64_t sim_firehose_deadline(const sim_conn *c);

/* faults.c */
int sim_fault_parse(const char *name, unsigned *faults);
const char *sim_fault_names(void);
void sim_send_banner(sim_conn *c);

#endif
