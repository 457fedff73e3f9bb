/* ami-sim as a child process: fork/exec, read the port it printed. */
#include "sim_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Generous: a sanitized build on a loaded machine can take seconds. */
#define START_TIMEOUT_MS 30000
#define MAX_LIVE         32

/* Children still running: killed at exit, so a failed assertion (cmocka
 * jumps out of the test) never leaves a server holding ctest's pipes. */
static pid_t live[MAX_LIVE];

static void kill_live(void)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] > 0) {
            kill(live[i], SIGKILL);
            waitpid(live[i], NULL, 0);
            live[i] = 0;
        }
}

static void track(pid_t pid, pid_t replace)
{
    static int registered;
    if (!registered) {
        atexit(kill_live);
        registered = 1;
    }
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] == replace) {
            live[i] = pid;
            return;
        }
}

const char *sim_process_path(void)
{
    static char path[4096];
    const char *dir = getenv("AMI_BIN_DIR");
    snprintf(path, sizeof path, "%s/ami-sim", dir && *dir ? dir : ".");
    return path;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the "listening on" line within the time left; returns the port or 0. */
static unsigned read_port(int fd, long deadline)
{
    char line[256];
    size_t len = 0;
    while (len < sizeof line - 1) {
        long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        ssize_t n = read(fd, line + len, 1);
        if (n <= 0)
            return 0;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    const char *colon = strrchr(line, ':');
    if (strncmp(line, "listening on ", 13) != 0 || !colon)
        return 0;
    return (unsigned)strtoul(colon + 1, NULL, 10);
}

static int start_once(sim_process *sp, unsigned port, const char *const *extra, long deadline)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = sim_process_path();
    argv[n++] = "--listen";
    argv[n++] = listen;
    /* ami-sim drops a client whose socket accepts nothing for 100 ms, as
     * Asterisk does; on a loaded machine a client that reads as it should
     * may still not be scheduled for that long. Tests that are not about
     * the write timeout get a generous one; a test's own --write-timeout
     * in extra comes later and wins. */
    argv[n++] = "--write-timeout";
    argv[n++] = SIM_TEST_WRITE_TIMEOUT;
    for (size_t i = 0; extra && extra[i] && n < 63; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "sim_process: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    unsigned got = read_port(pfd[0], deadline);
    close(pfd[0]); /* ami-sim prints nothing else on stdout */
    if (!got) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    sp->pid = pid;
    sp->port = got;
    track(pid, 0);
    return 0;
}

int sim_process_start(sim_process *sp, unsigned port, const char *const *extra)
{
    sp->pid = 0;
    sp->port = 0;
    long deadline = now_ms() + START_TIMEOUT_MS;
    /* SIGPIPE from a closed stdout must not kill a later ami-sim print. */
    signal(SIGPIPE, SIG_IGN);
    while (now_ms() < deadline) {
        if (start_once(sp, port, extra, deadline) == 0)
            return 0;
        if (port == 0)
            break;
        usleep(50 * 1000); /* the port may still be in use for a moment */
    }
    fprintf(stderr, "sim_process: %s did not start listening on port %u\n", sim_process_path(),
            port);
    return -1;
}

static int reap(pid_t pid, long timeout_ms)
{
    long end = now_ms() + timeout_ms;
    int status;
    while (now_ms() < end) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0)
            return -1;
        usleep(5 * 1000);
    }
    return -2;
}

int sim_process_stop(sim_process *sp)
{
    if (!sp->pid)
        return -1;
    kill(sp->pid, SIGCONT);
    kill(sp->pid, SIGTERM);
    int rc = reap(sp->pid, 5000);
    if (rc == -2) {
        kill(sp->pid, SIGKILL);
        rc = reap(sp->pid, 5000);
    }
    track(0, sp->pid);
    sp->pid = 0;
    return rc;
}

void sim_process_kill(sim_process *sp)
{
    if (!sp->pid)
        return;
    kill(sp->pid, SIGKILL);
    reap(sp->pid, 5000);
    track(0, sp->pid);
    sp->pid = 0;
}

void sim_process_pause(sim_process *sp)
{
    if (sp->pid)
        kill(sp->pid, SIGSTOP);
}

void sim_process_resume(sim_process *sp)
{
    if (sp->pid)
        kill(sp->pid, SIGCONT);
}
