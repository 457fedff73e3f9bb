/* The listening socket and the single-threaded poll() loop that drives
 * every connection, call timer and signal. */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sig_write_fd = -1;
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (sig_write_fd >= 0) {
        int saved = errno;
        ssize_t r = write(sig_write_fd, "x", 1);
        (void)r;
        errno = saved;
    }
}

void sim_request_stop(void)
{
    stop_requested = 1;
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int sim_listen(sim *s)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (s->opt.family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)s->opt.port);
        inet_pton(AF_INET6, s->opt.host, &a->sin6_addr);
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)s->opt.port);
        inet_pton(AF_INET, s->opt.host, &a->sin_addr);
        sl = sizeof *a;
    }
    int fd = socket(s->opt.family, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("ami-sim: socket");
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s->opt.family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 128) != 0) {
        fprintf(stderr, "ami-sim: cannot listen on %s:%d: %s\n", s->opt.host, s->opt.port,
                strerror(errno));
        close(fd);
        return -1;
    }
    set_nonblock(fd);
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    int port = s->opt.family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    s->opt.port = port;
    /* Tests read this line to learn the port chosen for port 0. */
    if (s->opt.family == AF_INET6)
        printf("listening on [%s]:%d\n", s->opt.host, port);
    else
        printf("listening on %s:%d\n", s->opt.host, port);
    fflush(stdout);
    s->lfd = fd;
    return 0;
}

static void accept_all(sim *s)
{
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            /* EAGAIN ends the batch; EMFILE and friends are retried on
             * the next readiness rather than killing the server. */
            return;
        }
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        sim_conn *c = sim_conn_new(s, fd);
        if (s->opt.verbose)
            fprintf(stderr, "ami-sim: conn %u from %s\n", c->id, c->remote_desc);
    }
}

static void reap(sim *s)
{
    for (sim_conn **pp = &s->conns; *pp;) {
        sim_conn *c = *pp;
        if (c->dead) {
            *pp = c->next;
            /* The firehose count is what this session was sent: tests
             * compare it with what a client stored. */
            if (s->opt.verbose && s->opt.firehose)
                fprintf(stderr, "ami-sim: conn %u closed, firehose events written %llu\n", c->id,
                        (unsigned long long)c->firehose_sent);
            else if (s->opt.verbose)
                fprintf(stderr, "ami-sim: conn %u closed\n", c->id);
            sim_conn_free(c);
        } else {
            pp = &c->next;
        }
    }
}

static int wants_write(const sim_conn *c, uint64_t now)
{
    if (c->dead || c->io_wait_read)
        return 0;
    if (!sim_buf_pending(&c->out) && !sim_firehose_due(c, now) && !c->oversize_on)
        return 0;
    if ((c->sim->opt.faults & SIM_FAULT_TRICKLE) && now < c->next_trickle)
        return 0;
    return 1;
}

int sim_run(sim *s)
{
    if (pipe(s->sigfd) != 0) {
        perror("ami-sim: pipe");
        return 1;
    }
    set_nonblock(s->sigfd[0]);
    set_nonblock(s->sigfd[1]);
    sig_write_fd = s->sigfd[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct pollfd *pfds = NULL;
    sim_conn **map = NULL;
    size_t cap = 0;
    while (!stop_requested) {
        uint64_t now = sim_now_ms();
        sim_calls_run(s, now);
        for (sim_conn *c = s->conns; c; c = c->next)
            sim_conn_timers(c, now);
        for (sim_conn *c = s->conns; c; c = c->next)
            if (wants_write(c, now))
                sim_conn_flush(c, now);
        reap(s);

        uint64_t deadline = sim_calls_next_deadline(s);
        size_t n = 2;
        for (sim_conn *c = s->conns; c; c = c->next) {
            uint64_t d = sim_conn_deadline(c);
            if (d < deadline)
                deadline = d;
            n++;
        }
        if (n > cap) {
            cap = n * 2;
            pfds = sim_xrealloc(pfds, cap * sizeof *pfds);
            map = sim_xrealloc(map, cap * sizeof *map);
        }
        pfds[0] = (struct pollfd){.fd = s->sigfd[0], .events = POLLIN};
        pfds[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        size_t k = 2;
        for (sim_conn *c = s->conns; c; c = c->next, k++) {
            short ev = 0;
            if (sim_conn_wants_read(c))
                ev |= POLLIN;
            if (wants_write(c, now))
                ev |= POLLOUT;
            pfds[k] = (struct pollfd){.fd = c->fd, .events = ev};
            map[k] = c;
        }
        int timeout = -1;
        if (deadline != AMI_NO_DEADLINE)
            timeout = deadline <= now ? 0 : (int)(deadline - now > 60000 ? 60000 : deadline - now);
        int r = poll(pfds, k, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            perror("ami-sim: poll");
            break;
        }
        if (pfds[0].revents) {
            char drain[64];
            while (read(s->sigfd[0], drain, sizeof drain) > 0) {
            }
        }
        if (pfds[1].revents & POLLIN)
            accept_all(s);
        now = sim_now_ms();
        for (size_t i = 2; i < k; i++) {
            sim_conn *c = map[i];
            short re = pfds[i].revents;
            if (!re || c->dead)
                continue;
            if (re & POLLIN)
                sim_conn_on_readable(c, now);
            else if ((re & (POLLHUP | POLLERR)) && !(pfds[i].events & POLLIN))
                c->dead = 1; /* peer gone while we were not reading */
            if ((re & POLLOUT) && !c->dead)
                sim_conn_flush(c, now);
        }
    }
    free(pfds);
    free(map);
    sig_write_fd = -1;
    close(s->sigfd[0]);
    close(s->sigfd[1]);
    return 0;
}
