/*
 * Helpers shared by the benchmark programs: a monotonic clock, a loopback
 * connection with a hand-written login (so the baselines share no code with
 * libami), and the peak RSS. Each program prints `name value` lines that
 * bench/run collects.
 */
#ifndef AMI_BENCH_COMMON_H
#define AMI_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

double bench_now(void);

/* Abort with a message (benchmarks have no recovery path). */
void bench_die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/* Blocking TCP connection to 127.0.0.1:port; dies on failure. */
int bench_connect(unsigned port);

/* Read the banner, log in as admin/amp111 with `events` and consume the
 * Login response, all with plain read()/write(). Whatever was read past the
 * response is copied to `rest` (at most rest_cap bytes), its length
 * returned. */
size_t bench_raw_login(int fd, const char *events, char *rest, size_t rest_cap);

/* Write all of buf or die. */
void bench_write_all(int fd, const char *buf, size_t len);

/* Peak resident set size of this process in KiB (getrusage), and the
 * current one (from /proc/self/statm). */
long bench_peak_rss_kib(void);
long bench_rss_kib(void);

/* Parse an unsigned decimal argument or die. */
uint64_t bench_arg_u64(const char *s, const char *what);

#endif
