/* The action table and dispatch: the checks manager.c's process_message()
 * makes, in the same order, with the same messages. */
#include "pbx.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Sorted with strcasecmp, as Asterisk keeps its action list, so that
 * ListCommands comes out in the same order. Synopses and write classes
 * are the ones Asterisk 22 registers. */
static const sim_action_def actions[] = {
    {"BlindTransfer", "Blind transfer channel(s) to the given destination", SIM_CALL,
     sim_action_blindtransfer},
    {"Bridge", "Bridge two channels already in the PBX.", SIM_CALL, sim_action_bridge},
    {"BridgeDestroy", "Destroy a bridge.", 0, sim_action_bridgedestroy},
    {"BridgeInfo", "Get information about a bridge.", 0, sim_action_bridgeinfo},
    {"BridgeKick", "Kick a channel from a bridge.", 0, sim_action_bridgekick},
    {"BridgeList", "Get a list of bridges in the system.", 0, sim_action_bridgelist},
    {"Challenge", "Generate Challenge for MD5 Auth.", 0, sim_action_challenge},
    {"Command", "Execute Asterisk CLI Command.", SIM_COMMAND, sim_action_command},
    {"CoreSettings", "Show PBX core settings (version etc).", SIM_SYSTEM | SIM_REPORTING,
     sim_action_coresettings},
    {"CoreShowChannels", "List currently active channels.", SIM_SYSTEM | SIM_REPORTING,
     sim_action_coreshowchannels},
    {"CoreStatus", "Show PBX core status variables.", SIM_SYSTEM | SIM_REPORTING,
     sim_action_corestatus},
    {"DeviceStateList", "List the current known device states.", SIM_CALL | SIM_REPORTING,
     sim_action_devicestatelist},
    {"Events", "Control Event Flow.", 0, sim_action_events},
    {"Filter", "Dynamically add filters for the current manager session.", SIM_SYSTEM,
     sim_action_filter},
    {"GetConfig", "Retrieve configuration.", SIM_SYSTEM | SIM_CONFIG, sim_action_getconfig},
    {"Getvar", "Gets a channel variable or function value.", SIM_CALL | SIM_REPORTING,
     sim_action_getvar},
    {"Hangup", "Hangup channel.", SIM_SYSTEM | SIM_CALL, sim_action_hangup},
    {"ListCommands", "List available manager commands.", 0, sim_action_listcommands},
    {"Login", "Login Manager.", 0, sim_action_login},
    {"Logoff", "Logoff Manager.", 0, sim_action_logoff},
    {"Originate", "Originate a call.", SIM_ORIGINATE, sim_action_originate},
    {"Park", "Park a channel.", SIM_CALL, sim_action_park},
    {"ParkedCalls", "List parked calls.", SIM_CALL, sim_action_parkedcalls},
    {"Parkinglots", "Get a list of parking lots", SIM_CALL, sim_action_parkinglots},
    {"Ping", "Keepalive command.", 0, sim_action_ping},
    {"QueueAdd", "Add interface to queue.", SIM_AGENT, sim_action_queueadd},
    {"QueuePause", "Makes a queue member temporarily unavailable.", SIM_AGENT,
     sim_action_queuepause},
    {"QueuePenalty", "Set the penalty for a queue member.", SIM_AGENT, sim_action_queuepenalty},
    {"QueueRemove", "Remove interface from queue.", SIM_AGENT, sim_action_queueremove},
    {"QueueStatus", "Show queue status.", 0, sim_action_queuestatus},
    {"QueueSummary", "Show queue summary.", 0, sim_action_queuesummary},
    {"Redirect", "Redirect (transfer) a call.", SIM_CALL, sim_action_redirect},
    {"Setvar", "Sets a channel variable or function value.", SIM_CALL, sim_action_setvar},
    {"Status", "List channel status.", SIM_SYSTEM | SIM_CALL | SIM_REPORTING, sim_action_status},
    {"UserEvent", "Send an arbitrary event.", SIM_USER, sim_action_userevent},
    {"WaitEvent", "Wait for an event to occur.", 0, sim_action_waitevent},
};

const sim_action_def *sim_actions(size_t *count)
{
    *count = sizeof actions / sizeof actions[0];
    return actions;
}

/* --record: every action as received, headers in order, a blank line
 * after each, flushed at once so a test can read it while the sim runs. */
static void record(sim *s, const ami_packet *p)
{
    for (size_t i = 0; i < ami_packet_count(p); i++) {
        const char *k, *v;
        size_t kl, vl;
        if (ami_packet_header(p, i, &k, &kl, &v, &vl) == 0)
            fprintf(s->record, "%.*s: %.*s\n", (int)kl, k, (int)vl, v);
    }
    fputc('\n', s->record);
    fflush(s->record);
}

void sim_dispatch(sim_conn *c, const ami_packet *p)
{
    if (c->sim->record)
        record(c->sim, p);
    if (c->sim->opt.faults & SIM_FAULT_STALL)
        return;
    const char *id = ami_packet_action_id(p);
    if (id && !*id)
        id = NULL; /* manager.c writes ActionID only when it is non-empty */
    const char *name = ami_packet_get(p, "Action");
    if (!name || !*name) {
        sim_send_error(c, id, "Missing action in request");
        return;
    }
    if (!c->authed && strcasecmp(name, "Login") != 0 && strcasecmp(name, "Logoff") != 0 &&
        strcasecmp(name, "Challenge") != 0) {
        sim_send_error(c, id, "Permission denied");
        return;
    }
    const sim_action_def *def = NULL;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcasecmp(actions[i].name, name) == 0)
            def = &actions[i];
    if (!def) {
        char msg[AMI_ACTION_MAX_LINE + 96];
        snprintf(msg, sizeof msg,
                 "Invalid/unknown command: %s. Use Action: ListCommands to show available "
                 "commands.",
                 name);
        sim_send_error(c, id, msg);
        return;
    }
    if (def->authority && !(c->user && (c->user->writeperm & def->authority))) {
        sim_send_error(c, id, "Permission denied");
        return;
    }
    def->fn(c, p, id);
    /* Tests wait for this line: the answer (of a list, its events too)
     * is queued before anything the next action causes. */
    if (c->sim->opt.verbose)
        fprintf(stderr, "ami-sim: conn %u: %s done\n", c->id, def->name);
}
