/* --log-actions FILE; see actionlog.h. */
#include "actionlog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static FILE *action_log;

int sim_log_open(const char *path)
{
    action_log = fopen(path, "ab");
    if (!action_log) {
        fprintf(stderr, "ami-sim: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

void sim_log_action(const sim_conn *c, const ami_packet *p)
{
    (void)c;
    if (!action_log)
        return;
    size_t n = ami_packet_count(p);
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t kl, vl;
        ami_packet_header(p, i, &k, &kl, &v, &vl);
        fwrite(k, 1, kl, action_log);
        fputs(": ", action_log);
        fwrite(v, 1, vl, action_log);
        fputs("\r\n", action_log);
    }
    fputs("\r\n", action_log);
    fflush(action_log);
}

void sim_log_close(void)
{
    if (action_log)
        fclose(action_log);
    action_log = NULL;
}
