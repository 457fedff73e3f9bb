/* Secret sources: a private file, the environment, or a no-echo prompt. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static void strip_newline(char *s, size_t *len)
{
    if (*len && s[*len - 1] == '\n') {
        (*len)--;
        if (*len && s[*len - 1] == '\r')
            (*len)--;
    }
    s[*len] = '\0';
}

static int from_file(const char *path, char *buf)
{
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        tool_err("cannot open --secret-file %s: %s — check the path", path, strerror(errno));
        return TOOL_EXIT_USAGE;
    }
    /* fstat on the opened file, so the check is about the file we read. */
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        tool_err("cannot use --secret-file %s: not a regular file", path);
        close(fd);
        return TOOL_EXIT_USAGE;
    }
    if (st.st_mode & (S_IRGRP | S_IROTH)) {
        tool_err("refusing --secret-file %s: it is readable by others (chmod 600 %s)", path, path);
        close(fd);
        return TOOL_EXIT_USAGE;
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, TOOL_SECRET_MAX - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            tool_err("cannot read --secret-file %s: %s", path, strerror(errno));
            close(fd);
            return TOOL_EXIT_USAGE;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == TOOL_SECRET_MAX) {
            tool_err("--secret-file %s is too long (a secret is at most %d bytes)", path,
                     TOOL_SECRET_MAX - 1);
            close(fd);
            return TOOL_EXIT_USAGE;
        }
    }
    close(fd);
    /* A NUL would silently cut the secret short: refuse the file. */
    if (memchr(buf, '\0', len)) {
        tool_err("refusing --secret-file %s: it contains a NUL byte (a secret is one line of "
                 "text)",
                 path);
        return TOOL_EXIT_USAGE;
    }
    strip_newline(buf, &len);
    return 0;
}

static int from_tty(const tool_opts *o, char *buf)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        tool_err("no secret for user %s: set AMI_SECRET, use --secret-file FILE, or run on a "
                 "terminal to be prompted",
                 o->user);
        return TOOL_EXIT_USAGE;
    }
    /* Echo goes off before the prompt appears: TCSAFLUSH discards typed-ahead
     * input, so an answer typed right after the prompt must not be lost. */
    struct termios saved, noecho;
    int have_termios = tcgetattr(fd, &saved) == 0;
    if (have_termios) {
        noecho = saved;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        noecho.c_lflag |= ECHONL;
        tcsetattr(fd, TCSAFLUSH, &noecho);
    }
    char prompt[512];
    int plen = snprintf(prompt, sizeof(prompt), "AMI secret for %s@%s: ", o->user, o->host);
    if (plen > 0) {
        size_t pl = (size_t)plen < sizeof(prompt) ? (size_t)plen : sizeof(prompt) - 1;
        /* A prompt that cannot be shown does not stop us reading the answer. */
        ssize_t w = write(fd, prompt, pl);
        (void)w;
    }
    size_t len = 0;
    int rc = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        if (len + 1 >= TOOL_SECRET_MAX) {
            tool_err("the secret typed is too long (at most %d bytes)", TOOL_SECRET_MAX - 1);
            rc = TOOL_EXIT_USAGE;
            break;
        }
        buf[len++] = c;
    }
    buf[len] = '\0';
    if (have_termios)
        tcsetattr(fd, TCSAFLUSH, &saved);
    close(fd);
    return rc;
}

int tool_secret_get(const tool_opts *o, char buf[TOOL_SECRET_MAX])
{
    buf[0] = '\0';
    if (o->secret_file)
        return from_file(o->secret_file, buf);
    const char *env = getenv("AMI_SECRET");
    if (env) {
        size_t n = strlen(env);
        if (n >= TOOL_SECRET_MAX) {
            tool_err("AMI_SECRET is too long (a secret is at most %d bytes)", TOOL_SECRET_MAX - 1);
            return TOOL_EXIT_USAGE;
        }
        memcpy(buf, env, n + 1);
        return 0;
    }
    return from_tty(o, buf);
}

void tool_secret_wipe(char buf[TOOL_SECRET_MAX])
{
    explicit_bzero(buf, TOOL_SECRET_MAX);
}
