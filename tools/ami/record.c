/* --record BASE; see record.h. */
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Enough of a line's start to know its key ("OtherChannelId:" is the
 * longest that matters; longer keys are never masked). */
#define KEY_PEEK 16

enum mask_mode { MODE_DECIDE, MODE_PASS, MODE_ACTION, MODE_MASK };

struct tool_record {
    char *names[3];
    FILE *f[3]; /* raw, sent, timeline */
    int err;    /* errno of the first failed write */
    int err_file;
    uint64_t t0;
    int started;
    uint64_t raw_off, sent_off;

    /* masking of BASE.sent, byte by byte so chunking does not matter */
    enum mask_mode mode;
    char peek[KEY_PEEK + 1];
    size_t npeek;
    char action[16]; /* value of the packet's Action: line, for Login */
    size_t naction;
    int in_login;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int tool_record_open(const tool_opts *o, tool_record **out)
{
    *out = NULL;
    if (!o->record)
        return 0;
    if (o->nservers > 1) {
        tool_err("--record keeps one connection: give one -H (or --server NAME)");
        return TOOL_EXIT_USAGE;
    }
    tool_record *r = calloc(1, sizeof *r);
    if (!r)
        tool_oom();
    static const char *const ext[3] = {".raw", ".sent", ".timeline"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(o->record) + strlen(ext[i]) + 1;
        r->names[i] = tool_xrealloc(NULL, n);
        snprintf(r->names[i], n, "%s%s", o->record, ext[i]);
        /* Mode 600: the session may hold anything the user could see. */
        int fd = open(r->names[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || !(r->f[i] = fdopen(fd, "wb"))) {
            tool_err("--record: cannot create %s: %s — check the directory", r->names[i],
                     strerror(errno));
            if (fd >= 0)
                close(fd);
            r->err = -1; /* reported already */
            tool_record_close(r);
            return TOOL_EXIT_USAGE;
        }
    }
    *out = r;
    return 0;
}

static void put(tool_record *r, int which, const char *data, size_t n)
{
    if (n && fwrite(data, 1, n, r->f[which]) != n && !r->err) {
        r->err = errno ? errno : EIO;
        r->err_file = which;
    }
}

static void put_sent(tool_record *r, const char *data, size_t n, size_t *count)
{
    put(r, 1, data, n);
    *count += n;
}

/* Decide what the line whose start is in peek is: masked or passed. */
static void decide(tool_record *r, size_t *count)
{
    const char *colon = memchr(r->peek, ':', r->npeek);
    size_t klen = colon ? (size_t)(colon - r->peek) : 0;
    int secret = colon && ((klen == 6 && strncasecmp(r->peek, "Secret", 6) == 0) ||
                           (klen == 3 && strncasecmp(r->peek, "Key", 3) == 0 && r->in_login));
    if (secret) {
        put_sent(r, r->peek, klen, count);
        put_sent(r, ": ********", 10, count);
        r->mode = MODE_MASK;
    } else {
        put_sent(r, r->peek, r->npeek, count);
        r->mode = MODE_PASS;
        if (colon && klen == 6 && strncasecmp(r->peek, "Action", 6) == 0) {
            r->mode = MODE_ACTION;
            r->naction = 0;
            for (size_t i = klen + 1; i < r->npeek && r->naction < sizeof r->action; i++)
                r->action[r->naction++] = r->peek[i];
        }
    }
    r->npeek = 0;
}

static void end_action_line(tool_record *r)
{
    size_t a = 0, n = r->naction;
    while (a < n && r->action[a] == ' ')
        a++;
    while (n > a &&
           (r->action[n - 1] == '\r' || r->action[n - 1] == '\n' || r->action[n - 1] == ' '))
        n--;
    r->in_login = n - a == 5 && strncasecmp(r->action + a, "Login", 5) == 0;
}

static size_t mask_sent(tool_record *r, const char *data, size_t len)
{
    size_t count = 0;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        switch (r->mode) {
        case MODE_DECIDE:
            r->peek[r->npeek++] = c;
            if (c == '\n') {
                /* A short line: an empty one ends the packet. */
                int empty = r->npeek <= 2;
                decide(r, &count);
                r->mode = MODE_DECIDE;
                if (empty)
                    r->in_login = 0;
            } else if (c == ':' || r->npeek == KEY_PEEK) {
                decide(r, &count);
            }
            break;
        case MODE_ACTION:
            if (r->naction < sizeof r->action)
                r->action[r->naction++] = c;
            put_sent(r, &c, 1, &count);
            if (c == '\n') {
                end_action_line(r);
                r->mode = MODE_DECIDE;
            }
            break;
        case MODE_PASS:
            put_sent(r, &c, 1, &count);
            if (c == '\n')
                r->mode = MODE_DECIDE;
            break;
        case MODE_MASK:
            if (c == '\n') {
                put_sent(r, "\r\n", 2, &count);
                r->mode = MODE_DECIDE;
            }
            break;
        }
    }
    return count;
}

void tool_record_wire(ami_wire_dir dir, const char *data, size_t len, void *ud)
{
    tool_record *r = ud;
    uint64_t t = now_ms();
    if (!r->started) {
        r->started = 1;
        r->t0 = t;
    }
    char line[128];
    uint64_t raw_at = r->raw_off, sent_at = r->sent_off;
    size_t n = len;
    const char *what = "recv";
    if (dir == AMI_WIRE_RECV) {
        put(r, 0, data, len);
        r->raw_off += len;
    } else if (dir == AMI_WIRE_SEND) {
        what = "send";
        n = mask_sent(r, data, len);
        r->sent_off += n;
    } else {
        what = "eof";
        n = 0;
    }
    int w =
        snprintf(line, sizeof line, "%llu\t%s\t%zu\t%llu\t%llu\n", (unsigned long long)(t - r->t0),
                 what, n, (unsigned long long)raw_at, (unsigned long long)sent_at);
    if (w > 0)
        put(r, 2, line, (size_t)w);
}

int tool_record_close(tool_record *r)
{
    if (!r)
        return 0;
    /* A line still being decided (the session ended mid-line) is kept. */
    if (r->f[1] && r->mode == MODE_DECIDE && r->npeek)
        put(r, 1, r->peek, r->npeek);
    for (int i = 0; i < 3; i++) {
        if (r->f[i] && fclose(r->f[i]) != 0 && !r->err) {
            r->err = errno ? errno : EIO;
            r->err_file = i;
        }
        r->f[i] = NULL;
    }
    int code = 0;
    if (r->err > 0) {
        tool_err("--record: cannot write %s: %s — the recording is incomplete",
                 r->names[r->err_file], strerror(r->err));
        code = TOOL_EXIT_CONNECTION;
    }
    for (int i = 0; i < 3; i++)
        free(r->names[i]);
    free(r);
    return code;
}
