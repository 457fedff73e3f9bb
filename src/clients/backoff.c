/* Reconnect delays: exponential, capped, with "equal jitter" (half fixed,
 * half random) so that many clients cut off by one server restart do not
 * all come back in the same millisecond, yet none retries at once. */
#include "backoff.h"

uint64_t ami__backoff_rand(uint64_t *state)
{
    /* xorshift64*: per handle, no global state, plenty for spreading
     * retries (not for anything secret). */
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1du;
}

uint64_t ami__backoff_delay(unsigned attempt, uint64_t initial_ms, uint64_t max_ms, uint64_t *rng)
{
    if (initial_ms == 0)
        initial_ms = 1;
    if (max_ms < initial_ms)
        max_ms = initial_ms;
    uint64_t d = initial_ms;
    for (unsigned i = 0; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    uint64_t half = d / 2;
    return d - half + (half ? ami__backoff_rand(rng) % (half + 1) : 0);
}
