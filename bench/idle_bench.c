/*
 * Memory held by idle connections: connect and log in CONNS blocking
 * clients (Events: off), then report the resident-set growth per
 * connection. The caller raises the file-descriptor limit.
 *
 * usage: idle_bench PORT CONNS
 */
#include "common.h"

#include <ami/client.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        bench_die("usage: idle_bench PORT CONNS");
    unsigned port = (unsigned)bench_arg_u64(argv[1], "port");
    size_t conns = (size_t)bench_arg_u64(argv[2], "conns");
    ami_client **cl = calloc(conns, sizeof *cl);
    if (!cl)
        bench_die("out of memory");
    /* One connection first, so the figure excludes one-time costs (libc
     * buffers, the resolver, code pages). */
    ami_client *warm;
    if (ami_client_create(&warm) || ami_client_connect(warm, "127.0.0.1", port, 5000) ||
        ami_client_login(warm, "admin", "amp111", AMI_LOGIN_PLAIN, "off", 5000))
        bench_die("warm-up connection failed");
    long before = bench_rss_kib();
    for (size_t i = 0; i < conns; i++) {
        if (ami_client_create(&cl[i]))
            bench_die("client_create %zu", i);
        if (ami_client_connect(cl[i], "127.0.0.1", port, 5000) ||
            ami_client_login(cl[i], "admin", "amp111", AMI_LOGIN_PLAIN, "off", 5000))
            bench_die("connection %zu: %s", i, ami_client_errmsg(cl[i]));
    }
    long after = bench_rss_kib();
    printf("connections %zu\n", conns);
    printf("rss_before_kib %ld\n", before);
    printf("rss_after_kib %ld\n", after);
    printf("bytes_per_connection %.0f\n", (double)(after - before) * 1024.0 / (double)conns);
    for (size_t i = 0; i < conns; i++)
        ami_client_free(cl[i]);
    ami_client_free(warm);
    free(cl);
    return 0;
}
