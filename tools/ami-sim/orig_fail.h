/*
 * Originate extras: ChannelId/OtherChannelId (the Uniqueids the caller
 * chose) and the failure paths a test needs (busy, no answer, congestion,
 * an extension that does not exist), answered with the OriginateResponse
 * layout of manager.c's fast_originate.
 */
#ifndef AMI_SIM_ORIG_FAIL_H
#define AMI_SIM_ORIG_FAIL_H

#include "sim.h"

/* When the Originate p goes to a failing destination (Sim/busy,
 * Sim/noanswer, Sim/congestion, or Local/EXTEN@CONTEXT with a context of
 * the sim's dialplan but no such extension), take it over: queue the
 * answer and return 1. Otherwise return 0. */
int sim_originate_failure(sim_conn *c, const ami_packet *p, const char *id);
/* Apply ChannelId/OtherChannelId of p to the new call's channels. */
void sim_originate_ids(sim *s, sim_call *call, const ami_packet *p);
void sim_failures_run(sim *s, uint64_t now);
uint64_t sim_failures_next_deadline(void);
void sim_failures_free(void);

#endif
