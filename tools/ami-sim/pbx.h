/*
 * ami-sim's PBX model beyond single calls: bridges, queues, parking, device
 * states, hold music and the dial legs that tie them together. Each part
 * lives in its own file (bridges.c, queues.c, queue_actions.c,
 * queue_conf.c, parking.c, devstate.c, moh.c, legs.c); pbx.c holds the
 * hooks calls.c calls and the timers run on the sim's loop.
 *
 * Ownership: every object here belongs to the sim's pbx and is freed by
 * sim_pbx_free(); pointers to sim_chan and sim_call are borrowed and
 * dropped by the hooks before calls.c frees the call.
 */
#ifndef AMI_SIM_PBX_H
#define AMI_SIM_PBX_H

#include "sim.h"

typedef struct sim_bridge {
    struct sim_bridge *next;
    char id[40];
    char type[16];    /* basic, parking */
    char tech[24];    /* simple_bridge, holding_bridge */
    char creator[32]; /* <unknown>, Parking */
    char name[32];    /* <unknown>, the parking lot */
    sim_chan **members;
    size_t n, cap;
    int persistent;    /* a parking lot's holding bridge stays with 0 channels */
    int peers_hang_up; /* Dial()/Queue() bridge: when a party hangs up, the rest do */
} sim_bridge;

/* Members per queue, from the file or QueueAdd. */
#define SIM_QUEUE_MAX_MEMBERS 256

typedef struct sim_qmember {
    struct sim_qmember *next;
    char iface[128], name[80], state_iface[128];
    int dynamic;
    int penalty;
    int calls_taken;
    long last_call, last_pause, login_time;
    int in_call;
    int status; /* 1 NOT_INUSE, 2 INUSE, 6 RINGING */
    int paused;
    char reason[80];
    int ringinuse;
    int wrapuptime;
    sim_call *leg; /* the agent leg while ringing or connected */
} sim_qmember;

typedef struct sim_qcaller {
    struct sim_qcaller *next;
    sim_call *call; /* the caller's call; chan is its ;2 */
    sim_chan *chan;
    uint64_t joined_ms, connected_ms;
    int original_position;
    sim_qmember *member; /* connected to this member, else NULL */
} sim_qcaller;

typedef struct sim_queue {
    struct sim_queue *next;
    char name[64];
    char strategy[24];
    int max;
    int weight;
    int servicelevel;
    int completed, abandoned, completed_insl, abandoned_insl;
    int holdtime, talktime; /* rolling averages, seconds */
    int rr_next;            /* rrmemory: index of the member to ring next */
    sim_qmember *members;
    sim_qcaller *callers; /* waiting ones first come first; connected ones too */
} sim_queue;

typedef struct sim_parked {
    struct sim_parked *next;
    sim_chan *chan;
    sim_call *call;
    int space;
    int timeout_s;
    uint64_t parked_ms;
    char dialstring[128];
} sim_parked;

typedef struct sim_devstate {
    struct sim_devstate *next;
    char device[160];
    char state[24];
} sim_devstate;

typedef struct sim_pbx {
    sim_bridge *bridges;
    sim_queue *queues;
    sim_parked *parked;
    sim_bridge *park_bridge; /* the lot's holding bridge, once made */
    sim_devstate *devstates;
    int dispatch_due; /* a queue member became free: offer callers next tick */
    char **moh_chans; /* Uniqueids of channels on hold music */
    size_t moh_n;
} sim_pbx;

/* pbx.c */
void sim_pbx_init(sim *s);
void sim_pbx_free(sim *s);
/* Run the destination dialplan of an answered Originate's ;2 (Queue, Dial,
 * MusicOnHold, ParkedCall...). Called by calls.c's answer phase. */
void sim_pbx_on_answer(sim *s, sim_call *call);
/* A call is about to hang up: leave queues, parking, hold music. */
void sim_pbx_on_hangup(sim *s, sim_call *call);
void sim_pbx_tick(sim *s, uint64_t now);
uint64_t sim_pbx_deadline(const sim *s);
/* Hang the call up on the loop's next turn (never re-entrantly). */
void sim_call_hangup_later(sim_call *call, int cause);
/* Send a channel back to the dialplan at ctx/exten/prio: Newexten for the
 * priority (and the next one after an Answer). */
void sim_chan_goto(sim *s, sim_chan *ch, const char *ctx, const char *exten, int prio);
void sim_newexten(sim *s, sim_chan *ch, const char *app, const char *data);
/* "Local/100@test" from "Local/100@test-00000001;1", "PJSIP/a" from "PJSIP/a-0000…". */
void sim_chan_device(const sim_chan *ch, char *buf, size_t n);

/* bridges.c */
sim_bridge *sim_bridge_new(sim *s, const char *type, int peers_hang_up);
sim_bridge *sim_bridge_find(sim *s, const char *id);
void sim_bridge_enter(sim *s, sim_bridge *b, sim_chan *ch);
/* `ch` leaves its bridge (BridgeLeave); an empty bridge that is not
 * persistent is destroyed. */
void sim_bridge_remove(sim *s, sim_chan *ch);
/* `ch` leaves its bridge and a basic bridge dissolves: the last party
 * leaves too and, with peers_hang_up, hangs up (on the next loop turn),
 * else returns to the dialplan. */
void sim_bridge_leave(sim *s, sim_chan *ch);
void sim_bridge_destroy(sim *s, sim_bridge *b);
void sim_bridge_headers(sim_buf *out, const sim_bridge *b);
sim_chan *sim_bridge_peer(sim *s, const sim_chan *ch);
void sim_bridges_free(sim *s);
void sim_action_bridgelist(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_bridgeinfo(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_bridge(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_bridgekick(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_bridgedestroy(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_blindtransfer(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_redirect(sim_conn *c, const ami_packet *p, const char *id);

/* legs.c: a Local pair the PBX dials (Dial(), Queue() agents, parking
 * call-backs); its ;1 is bridged with `from` once answered. */
sim_call *sim_leg_dial(sim *s, sim_chan *from, const char *device, const char *app1);
/* DialBegin ... DialEnd ANSWER, from `from` to the leg's ;1. */
void sim_leg_answer(sim *s, sim_call *leg, sim_chan *from, const char *dialstring);
void sim_leg_connect(sim *s, sim_call *leg, sim_chan *from, int peers_hang_up);

/* queue_conf.c */
int sim_queues_load(sim *s, const char *path);
void sim_queues_default(sim *s);
sim_queue *sim_queue_add(sim *s, const char *name);
sim_qmember *sim_qmember_add(sim_queue *q, const char *iface, const char *name);

/* queues.c */
sim_queue *sim_queue_find(sim *s, const char *name);
sim_qmember *sim_qmember_find(sim_queue *q, const char *iface);
void sim_queue_join(sim *s, sim_queue *q, sim_call *call, sim_chan *ch);
void sim_queues_dispatch(sim *s);
void sim_queues_on_hangup(sim *s, sim_call *call);
void sim_qmember_event(sim *s, const char *event, const sim_queue *q, const sim_qmember *m);
void sim_queue_avail_state(sim *s, const sim_queue *q);
void sim_queues_free(sim *s);

/* queue_actions.c */
void sim_action_queuestatus(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_queuesummary(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_queuepause(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_queueadd(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_queueremove(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_queuepenalty(sim_conn *c, const ami_packet *p, const char *id);

/* parking.c */
void sim_action_park(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_parkedcalls(sim_conn *c, const ami_packet *p, const char *id);
void sim_action_parkinglots(sim_conn *c, const ami_packet *p, const char *id);
/* The ;2 of `call` runs ParkedCall(space): retrieve the parked channel. */
int sim_park_retrieve(sim *s, sim_call *call, int space);
void sim_parking_on_hangup(sim *s, sim_call *call);
void sim_parking_tick(sim *s, uint64_t now);
uint64_t sim_parking_deadline(const sim *s);
void sim_parking_free(sim *s);

/* devstate.c: DeviceStateChange, and the cache DeviceStateList reads.
 * Local/ devices are never cached (as on a real server). */
void sim_devstate_set(sim *s, const char *device, const char *state);
void sim_devstate_init(sim *s);
void sim_devstate_free(sim *s);
void sim_action_devicestatelist(sim_conn *c, const ami_packet *p, const char *id);

/* moh.c */
void sim_moh_start(sim *s, sim_chan *ch, const char *cls);
void sim_moh_stop(sim *s, sim_chan *ch);
int sim_moh_on(const sim *s, const sim_chan *ch);
void sim_moh_free(sim *s);

#endif
