/*
 * Run ami-sim as a child process for end-to-end tests: start it on a port
 * (0: any free port, read back from its "listening on ADDR:PORT" line),
 * stop, kill, pause or resume it. Every wait is bounded. The binary is
 * $AMI_BIN_DIR/ami-sim (AMI_BIN_DIR is set by ctest).
 */
#ifndef AMI_TEST_SIM_PROCESS_H
#define AMI_TEST_SIM_PROCESS_H

#include <sys/types.h>

typedef struct sim_process {
    pid_t pid; /* 0 when not running */
    unsigned port;
} sim_process;

/* The write timeout (ms) every test's ami-sim gets unless the test passes
 * its own --write-timeout: long enough that a loaded, sanitized machine
 * never makes it drop a client that reads. */
#define SIM_TEST_WRITE_TIMEOUT "30000"

/* Start `ami-sim --listen 127.0.0.1:<port> --write-timeout
 * SIM_TEST_WRITE_TIMEOUT <extra...>` (extra is NULL-terminated, may be
 * NULL; an option in extra overrides the default before it). Returns 0 once it listens, -1 on
 * failure (message on stderr). Retries for a while if the port is still taken (a restart on the
 * same port right after a kill). */
int sim_process_start(sim_process *sp, unsigned port, const char *const *extra);

/* SIGTERM, wait up to 5 s, then SIGKILL. Returns the exit status or -1. */
int sim_process_stop(sim_process *sp);

/* SIGKILL and reap: the server vanishes without a word (EOF for clients). */
void sim_process_kill(sim_process *sp);

/* SIGSTOP / SIGCONT: a server that is alive for TCP but never answers. */
void sim_process_pause(sim_process *sp);
void sim_process_resume(sim_process *sp);

/* Path of the ami-sim binary (static buffer). */
const char *sim_process_path(void);

#endif /* AMI_TEST_SIM_PROCESS_H */
