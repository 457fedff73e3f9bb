/* `ami decode [FILE|-]`: parse a raw AMI byte stream offline and print its
 * packets. The parser is fed in chunks (--chunk N), so feeding one byte at
 * a time must print exactly what a whole read prints. */
#include "tool.h"
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_SIZE 65536
/* How far to look for the first line when deciding banner or not. */
#define SNIFF_MAX 4096

/* A stream from a server starts with the banner line, which has no ':'; a
 * stream from a client (.sent) starts with a header line. */
static int starts_with_banner(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ':')
            return 0;
        if (p[i] == '\n')
            return 1;
    }
    return 1;
}

static int drain(ami_parser *ps, tool_out *out)
{
    for (;;) {
        const ami_packet *p = NULL;
        int r = ami_parser_next(ps, &p);
        if (r <= 0)
            return r;
        tool_out_packet(out, p);
    }
}

static int feed(ami_parser *ps, tool_out *out, const char *p, size_t n, size_t chunk)
{
    size_t step = chunk ? chunk : n;
    for (size_t off = 0; off < n; off += step) {
        size_t k = n - off < step ? n - off : step;
        int r = ami_parser_feed(ps, p + off, k);
        if (r == 0)
            r = drain(ps, out);
        if (r < 0)
            return r;
    }
    return 0;
}

int tool_cmd_decode(tool_opts *o)
{
    if (o->nargs > 1) {
        tool_err("decode: too many arguments — give one FILE, or - for stdin");
        return TOOL_EXIT_USAGE;
    }
    const char *path = o->nargs == 1 ? o->args[0] : "-";
    const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tool_err("decode: cannot open %s: %s — check the path", path, strerror(errno));
        return TOOL_EXIT_USAGE;
    }

    char *buf = tool_xrealloc(NULL, READ_SIZE);
    size_t have = 0; /* bytes held back while sniffing the first line */
    int sniffed = 0;
    ami_parser *ps = NULL;
    tool_out out;
    tool_out_init(&out, o->format, stdout);
    tool_out_begin(&out);
    int perr = 0, rerr = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, READ_SIZE - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rerr = errno;
            break;
        }
        size_t n = have + (size_t)r;
        if (!sniffed) {
            int eof = r == 0;
            if (!eof && n < SNIFF_MAX && !memchr(buf, '\n', n)) {
                have = n;
                continue;
            }
            unsigned flags = starts_with_banner(buf, n) ? AMI_PARSER_EXPECT_BANNER : 0;
            if (ami_parser_create(&ps, flags) != 0)
                tool_oom();
            sniffed = 1;
            have = 0;
        }
        if (n == 0)
            break;
        perr = feed(ps, &out, buf, n, o->chunk);
        if (perr < 0 || r == 0)
            break;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    free(buf);

    size_t left = ps ? ami_parser_buffered(ps) : 0;
    int code = tool_out_finish(&out);
    if (rerr) {
        tool_err("decode: cannot read %s: %s", name, strerror(rerr));
        code = TOOL_EXIT_USAGE;
    } else if (perr < 0) {
        if (perr == AMI_ERR_NOMEM)
            tool_oom();
        tool_err("decode: %s is not a valid AMI stream: %s at byte %llu — the packets before it "
                 "were printed",
                 name, ami_strerror(perr), (unsigned long long)ami_parser_error_offset(ps));
        code = tool_exit_for(perr);
    } else if (left > 0) {
        tool_err("decode: %s ends inside a packet (%zu bytes after the last complete one) — "
                 "the capture is truncated",
                 name, left);
        code = TOOL_EXIT_CONNECTION;
    }
    ami_parser_free(ps);
    return code;
}
