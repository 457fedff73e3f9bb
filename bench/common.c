#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

int bench_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        bench_die("socket: %s", strerror(errno));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        bench_die("connect 127.0.0.1:%u: %s", port, strerror(errno));
    /* Round-trip figures must not measure Nagle's delay. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void bench_write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            bench_die("write: %s", strerror(errno));
        buf += n;
        len -= (size_t)n;
    }
}

/* Read until `needle` has appeared; returns the bytes held in buf. */
static size_t read_until(int fd, char *buf, size_t cap, size_t have, const char *needle,
                         size_t *end)
{
    size_t nlen = strlen(needle);
    for (;;) {
        for (size_t i = 0; i + nlen <= have; i++) {
            if (memcmp(buf + i, needle, nlen) == 0) {
                *end = i + nlen;
                return have;
            }
        }
        if (have == cap)
            bench_die("login: no '%s' within %zu bytes", needle, cap);
        ssize_t n = read(fd, buf + have, cap - have);
        if (n <= 0)
            bench_die("login: connection ended early");
        have += (size_t)n;
    }
}

size_t bench_raw_login(int fd, const char *events, char *rest, size_t rest_cap)
{
    char buf[8192];
    size_t end = 0;
    size_t have = read_until(fd, buf, sizeof buf, 0, "\r\n", &end);
    if (strncmp(buf, "Asterisk Call Manager/", 22) != 0)
        bench_die("login: not an AMI banner");
    memmove(buf, buf + end, have - end);
    have -= end;
    char req[256];
    int n = snprintf(req, sizeof req,
                     "Action: Login\r\nUsername: admin\r\nSecret: amp111\r\nEvents: %s\r\n\r\n",
                     events);
    bench_write_all(fd, req, (size_t)n);
    have = read_until(fd, buf, sizeof buf, have, "\r\n\r\n", &end);
    if (strncmp(buf, "Response: Success", 17) != 0)
        bench_die("login refused");
    size_t left = have - end;
    if (left > rest_cap)
        bench_die("login: %zu bytes after the response do not fit", left);
    memcpy(rest, buf + end, left);
    return left;
}

long bench_peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

long bench_rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

uint64_t bench_arg_u64(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno)
        bench_die("bad %s '%s'", what, s);
    return (uint64_t)v;
}
