/* The scripted AMI server used by the client tests (see script_server.h). */
#include "script_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SS_MAX_ACTIONS 64
#define SS_MAX_ID      256
#define SS_INBUF       65536

typedef struct ss_action {
    char *bytes;
    size_t len;
    char id[SS_MAX_ID];
} ss_action;

struct script_server {
    int listen_fd;
    int fd;
    unsigned port;
    const ss_step *steps;
    size_t n_steps;
    pthread_t thread;
    bool started, joined;
    bool peer_closed; /* the client closed its side */
    char inbuf[SS_INBUF];
    size_t inlen;
    ss_action actions[SS_MAX_ACTIONS];
    size_t n_actions;
    char last_id[SS_MAX_ID];
    char error[512];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Only the first failure is kept: later ones are usually its echoes. */
static void fail(script_server *ss, const char *what, const char *arg)
{
    if (ss->error[0] == '\0')
        snprintf(ss->error, sizeof ss->error, "%s%s", what, arg);
}

/* Wait up to ms for readable data and append it; false on EOF/error/full. */
static bool read_more(script_server *ss, int ms)
{
    if (ss->peer_closed)
        return false;
    struct pollfd pfd = {.fd = ss->fd, .events = POLLIN};
    int n = poll(&pfd, 1, ms);
    if (n <= 0)
        return n == 0;
    if (ss->inlen == sizeof ss->inbuf)
        return false;
    ssize_t got = recv(ss->fd, ss->inbuf + ss->inlen, sizeof ss->inbuf - ss->inlen, 0);
    if (got <= 0) {
        ss->peer_closed = true;
        return false;
    }
    ss->inlen += (size_t)got;
    return true;
}

static bool send_all(script_server *ss, const char *data, size_t len)
{
    uint64_t end = now_ms() + SS_STEP_TIMEOUT_MS;
    while (len > 0) {
        ssize_t n = send(ss->fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        if (now_ms() >= end)
            return false;
        struct pollfd pfd = {.fd = ss->fd, .events = POLLOUT};
        (void)poll(&pfd, 1, 50);
    }
    return true;
}

/* Copy of `data` with %ID% (and, with echo_id, ActionID values) replaced. */
static char *substitute(const script_server *ss, const char *data, size_t len, int echo_id,
                        size_t *out_len)
{
    size_t id_len = strlen(ss->last_id);
    char *out = malloc(len * (id_len + 1) + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        bool line_start = i == 0 || data[i - 1] == '\n';
        if (len - i >= 4 && memcmp(data + i, "%ID%", 4) == 0) {
            memcpy(out + o, ss->last_id, id_len);
            o += id_len;
            i += 4;
        } else if (echo_id && line_start && len - i >= 10 &&
                   strncasecmp(data + i, "ActionID: ", 10) == 0) {
            memcpy(out + o, data + i, 10);
            o += 10;
            i += 10;
            while (i < len && data[i] != '\r' && data[i] != '\n')
                i++;
            memcpy(out + o, ss->last_id, id_len);
            o += id_len;
        } else {
            out[o++] = data[i++];
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static bool send_step(script_server *ss, const ss_step *st, bool trickle)
{
    size_t len = 0;
    char *data = substitute(ss, st->data, st->len, st->echo_id, &len);
    if (!data)
        return false;
    bool ok = true;
    if (!trickle) {
        ok = send_all(ss, data, len);
    } else {
        for (size_t i = 0; i < len && ok; i++) {
            ok = send_all(ss, data + i, 1);
            struct timespec ts = {0, (long)st->ms * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    free(data);
    return ok;
}

/* Value of header `key` in one action block, into out. */
static void header_value(const char *block, size_t len, const char *key, char *out, size_t out_len)
{
    size_t klen = strlen(key);
    out[0] = '\0';
    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && block[end] != '\n')
            end++;
        size_t line_end = end > i && block[end - 1] == '\r' ? end - 1 : end;
        if (line_end - i > klen && strncasecmp(block + i, key, klen) == 0 &&
            block[i + klen] == ':') {
            size_t v = i + klen + 1;
            if (v < line_end && block[v] == ' ')
                v++;
            size_t vlen = line_end - v;
            if (vlen >= out_len)
                vlen = out_len - 1;
            memcpy(out, block + v, vlen);
            out[vlen] = '\0';
            return;
        }
        i = end + 1;
    }
}

/* Take one complete action (up to a blank line) off the input. */
static bool take_action(script_server *ss, const char *expect)
{
    uint64_t end = now_ms() + SS_STEP_TIMEOUT_MS;
    for (;;) {
        char *term = NULL;
        size_t tlen = 0;
        for (size_t i = 0; i + 1 < ss->inlen; i++) {
            if (ss->inbuf[i] == '\n' && ss->inbuf[i + 1] == '\n') {
                term = ss->inbuf + i;
                tlen = 2;
                break;
            }
            if (i + 3 < ss->inlen && memcmp(ss->inbuf + i, "\r\n\r\n", 4) == 0) {
                term = ss->inbuf + i;
                tlen = 4;
                break;
            }
        }
        if (term) {
            size_t len = (size_t)(term - ss->inbuf) + tlen;
            if (ss->n_actions == SS_MAX_ACTIONS) {
                fail(ss, "too many actions for the script server", "");
                return false;
            }
            ss_action *a = &ss->actions[ss->n_actions++];
            a->bytes = malloc(len + 1);
            if (!a->bytes)
                return false;
            memcpy(a->bytes, ss->inbuf, len);
            a->bytes[len] = '\0';
            a->len = len;
            header_value(a->bytes, len, "ActionID", a->id, sizeof a->id);
            memcpy(ss->last_id, a->id, sizeof a->id);
            memmove(ss->inbuf, ss->inbuf + len, ss->inlen - len);
            ss->inlen -= len;
            char name[128];
            header_value(a->bytes, len, "Action", name, sizeof name);
            if (expect && strcasecmp(name, expect) != 0) {
                fail(ss, "unexpected action: ", name);
                return false;
            }
            return true;
        }
        uint64_t now = now_ms();
        if (now >= end) {
            fail(ss, "timed out waiting for action ", expect ? expect : "(any)");
            return false;
        }
        if (!read_more(ss, (int)(end - now)) && (ss->peer_closed || ss->inlen == SS_INBUF)) {
            fail(ss, "client closed before sending action ", expect ? expect : "(any)");
            return false;
        }
    }
}

static void sleep_reading(script_server *ss, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    for (uint64_t now = now_ms(); now < end && !ss->peer_closed; now = now_ms()) {
        if (!read_more(ss, (int)(end - now)) && ss->inlen == SS_INBUF)
            ss->inlen = 0; /* a flood nobody scripted: drop it, keep sleeping */
    }
}

/* Half-close, then wait (bounded) for the client to close, so it sees a
 * clean EOF instead of a reset caused by unread data. */
static void shut(script_server *ss)
{
    shutdown(ss->fd, SHUT_WR);
    uint64_t end = now_ms() + SS_STEP_TIMEOUT_MS;
    for (uint64_t now = now_ms(); now < end && !ss->peer_closed; now = now_ms()) {
        if (!read_more(ss, (int)(end - now)))
            ss->inlen = 0;
    }
    close(ss->fd);
    ss->fd = -1;
}

static void *run(void *arg)
{
    script_server *ss = arg;
    struct pollfd pfd = {.fd = ss->listen_fd, .events = POLLIN};
    if (poll(&pfd, 1, SS_STEP_TIMEOUT_MS) <= 0) {
        fail(ss, "no client connected", "");
        return NULL;
    }
    ss->fd = accept(ss->listen_fd, NULL, NULL);
    if (ss->fd < 0) {
        fail(ss, "accept failed: ", strerror(errno));
        return NULL;
    }
    int one = 1;
    setsockopt(ss->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    bool ok = true;
    for (size_t i = 0; i < ss->n_steps && ok; i++) {
        const ss_step *st = &ss->steps[i];
        switch (st->op) {
        case SS_OP_SEND:
        case SS_OP_TRICKLE:
            ok = send_step(ss, st, st->op == SS_OP_TRICKLE);
            if (!ok)
                fail(ss, "send to the client failed", "");
            break;
        case SS_OP_ACTION:
            ok = take_action(ss, st->action) && send_step(ss, st, false);
            break;
        case SS_OP_SLEEP:
            sleep_reading(ss, st->ms);
            break;
        case SS_OP_CLOSE:
            shut(ss);
            return NULL;
        }
    }
    shut(ss);
    return NULL;
}

static int listen_loopback(int family, unsigned *port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_storage sa;
    socklen_t sl;
    memset(&sa, 0, sizeof sa);
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        sl = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *s4;
    }
    if (bind(fd, (struct sockaddr *)&sa, sl) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                     : ((struct sockaddr_in *)&sa)->sin_port);
    return fd;
}

int script_server_start(script_server **out, int family, const ss_step *steps, size_t n_steps)
{
    *out = NULL;
    script_server *ss = calloc(1, sizeof *ss);
    if (!ss)
        return -1;
    ss->fd = -1;
    ss->steps = steps;
    ss->n_steps = n_steps;
    ss->listen_fd = listen_loopback(family, &ss->port);
    if (ss->listen_fd < 0) {
        free(ss);
        return -1;
    }
    if (pthread_create(&ss->thread, NULL, run, ss) != 0) {
        close(ss->listen_fd);
        free(ss);
        return -1;
    }
    ss->started = true;
    *out = ss;
    return 0;
}

unsigned script_server_port(const script_server *ss)
{
    return ss->port;
}

int script_server_finish(script_server *ss)
{
    if (ss->started && !ss->joined) {
        pthread_join(ss->thread, NULL);
        ss->joined = true;
    }
    return ss->error[0] ? -1 : 0;
}

const char *script_server_error(const script_server *ss)
{
    return ss->error[0] ? ss->error : "no error";
}

size_t script_server_action_count(const script_server *ss)
{
    return ss->n_actions;
}

const char *script_server_action(const script_server *ss, size_t i, size_t *len)
{
    if (i >= ss->n_actions)
        return NULL;
    if (len)
        *len = ss->actions[i].len;
    return ss->actions[i].bytes;
}

const char *script_server_action_id(const script_server *ss, size_t i)
{
    return i < ss->n_actions ? ss->actions[i].id : NULL;
}

void script_server_free(script_server *ss)
{
    if (!ss)
        return;
    script_server_finish(ss);
    if (ss->fd >= 0)
        close(ss->fd);
    close(ss->listen_fd);
    for (size_t i = 0; i < ss->n_actions; i++)
        free(ss->actions[i].bytes);
    free(ss);
}

unsigned script_server_closed_port(int family)
{
    unsigned port = 0;
    int fd = listen_loopback(family, &port);
    if (fd < 0)
        return 0;
    close(fd);
    return port;
}

char *script_server_load_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("AMI_FIXTURES");
    if (!dir) {
        fprintf(stderr, "AMI_FIXTURES is not set (run the tests through ctest)\n");
        return NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open fixture %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4097 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

const char *script_server_fixture_packet(const char *raw, size_t raw_len, size_t i, size_t *len)
{
    const char *p = memchr(raw, '\n', raw_len);
    if (!p)
        return NULL;
    p++;
    const char *end = raw + raw_len;
    for (size_t k = 0;; k++) {
        const char *term = NULL;
        for (const char *q = p; q + 3 < end; q++) {
            if (memcmp(q, "\r\n\r\n", 4) == 0) {
                term = q + 4;
                break;
            }
        }
        if (!term)
            return NULL;
        if (k == i) {
            *len = (size_t)(term - p);
            return p;
        }
        p = term;
    }
}
