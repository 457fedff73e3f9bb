/*
 * Reconnect delays (backoff.c): pure arithmetic on the caller's random
 * state, so it needs no client header. Never installed.
 */
#ifndef AMI_BACKOFF_H
#define AMI_BACKOFF_H

#include <stdint.h>

/* xorshift64* step of a per-handle generator (0 seeds a constant). */
uint64_t ami__backoff_rand(uint64_t *state);
/* min(max_ms, initial_ms * 2^attempt), upper half randomised. */
uint64_t ami__backoff_delay(unsigned attempt, uint64_t initial_ms, uint64_t max_ms, uint64_t *rng);

#endif /* AMI_BACKOFF_H */
