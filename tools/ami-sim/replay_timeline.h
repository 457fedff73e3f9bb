/*
 * --replay FILE --replay-timing: serve a recording with the chunking and
 * timing of its .timeline (FILE with .raw replaced by .timeline) instead
 * of one unit per action. Each recorded server chunk is one write, sent
 * once the client has sent as many bytes as it had when the chunk was
 * recorded (the chunk's sent_off) and the recorded gap since the previous
 * timeline line has passed again; an `eof` line closes the connection.
 * The bytes are the recording's, unchanged (no ActionID rewriting): the
 * client is expected to be a replay of the .sent side (the gate counts
 * bytes: a live client with another secret length or other ActionIDs
 * wants the plain --replay).
 */
#ifndef AMI_SIM_REPLAY_TIMELINE_H
#define AMI_SIM_REPLAY_TIMELINE_H

#include "sim.h"

int sim_timeline_load(const char *raw_path);
int sim_timeline_on(void);
void sim_timeline_free(void);
/* Per connection: start (instead of the banner), bytes the client sent,
 * the timer and its deadline. */
void sim_timeline_start(sim_conn *c);
void sim_timeline_rx(sim_conn *c, size_t n);
void sim_timeline_run(sim_conn *c, uint64_t now);
uint64_t sim_timeline_deadline(const sim_conn *c);

#endif
