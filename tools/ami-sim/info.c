/* Informational actions: Ping, ListCommands, CoreSettings, CoreStatus,
 * GetConfig. */
#include "sim.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

static void finish(sim_conn *c, sim_buf *b)
{
    sim_buf_append(b, "\r\n", 2);
    sim_conn_send_response(c, b);
    sim_buf_free(b);
}

void sim_action_ping(sim_conn *c, const ami_packet *p, const char *id)
{
    (void)p;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    sim_buf b = {0};
    sim_resp_start(&b, "Success", id);
    sim_hdr(&b, "Ping", "Pong");
    sim_buf_printf(&b, "Timestamp: %ld.%06ld\r\n", (long)tv.tv_sec, (long)tv.tv_usec);
    finish(c, &b);
}

void sim_action_listcommands(sim_conn *c, const ami_packet *p, const char *id)
{
    (void)p;
    size_t n;
    const sim_action_def *a = sim_actions(&n);
    sim_buf b = {0};
    sim_resp_start(&b, "Success", id);
    for (size_t i = 0; i < n; i++) {
        /* Only what this user may run, like manager.c. */
        if (a[i].authority && !(c->user->writeperm & a[i].authority))
            continue;
        char priv[256];
        sim_perm_str(a[i].authority, priv, sizeof priv);
        sim_buf_printf(&b, "%s: %s  (Priv: %s)\r\n", a[i].name, a[i].synopsis, priv);
    }
    finish(c, &b);
}

void sim_action_coresettings(sim_conn *c, const ami_packet *p, const char *id)
{
    (void)p;
    sim_buf b = {0};
    sim_resp_start(&b, "Success", id);
    sim_buf_puts(&b, "AMIversion: " SIM_AMI_VERSION "\r\n"
                     "AsteriskVersion: " SIM_AST_VERSION "\r\n"
                     "SystemName: \r\n"
                     "CoreMaxCalls: 0\r\n"
                     "CoreMaxLoadAvg: 0.000000\r\n"
                     "CoreRunUser: \r\n"
                     "CoreRunGroup: \r\n"
                     "CoreMaxFilehandles: 0\r\n"
                     "CoreRealTimeEnabled: No\r\n"
                     "CoreCDRenabled: Yes\r\n"
                     "CoreHTTPenabled: No\r\n"
                     "SoundsSearchCustomDir: No\r\n");
    finish(c, &b);
}

void sim_action_corestatus(sim_conn *c, const ami_packet *p, const char *id)
{
    (void)p;
    struct tm tm;
    localtime_r(&c->sim->start_wall, &tm);
    char d[16], t[16];
    strftime(d, sizeof d, "%Y-%m-%d", &tm);
    strftime(t, sizeof t, "%H:%M:%S", &tm);
    sim_buf b = {0};
    sim_resp_start(&b, "Success", id);
    sim_hdr(&b, "CoreStartupDate", d);
    sim_hdr(&b, "CoreStartupTime", t);
    sim_hdr(&b, "CoreReloadDate", d);
    sim_hdr(&b, "CoreReloadTime", t);
    sim_buf_printf(&b, "CoreCurrentCalls: %zu\r\n", sim_calls_active(c->sim));
    sim_buf_printf(&b, "CoreProcessedCalls: %u\r\n", c->sim->calls_processed);
    finish(c, &b);
}

/* Only extensions.conf exists: general, globals and the [test] context. */
void sim_action_getconfig(sim_conn *c, const ami_packet *p, const char *id)
{
    const char *file = ami_packet_get(p, "Filename");
    const char *want = ami_packet_get(p, "Category");
    if (want && !*want)
        want = NULL;
    if (!file || !*file) {
        sim_send_error(c, id, "Filename not specified");
        return;
    }
    if (strcmp(file, "extensions.conf") != 0) {
        sim_send_error(c, id, "Config file not found");
        return;
    }
    sim_buf b = {0};
    sim_resp_start(&b, "Success", id);
    int cat = 0;
    if (!want || strcasecmp(want, "general") == 0) {
        sim_buf_printf(&b,
                       "Category-%06d: general\r\nLine-%06d-000000: static=yes\r\n"
                       "Line-%06d-000001: writeprotect=yes\r\n",
                       cat, cat, cat);
        cat++;
    }
    if (!want || strcasecmp(want, "globals") == 0) {
        sim_buf_printf(&b,
                       "Category-%06d: globals\r\nLine-%06d-000000: GLOBALVAR=initial-value\r\n",
                       cat, cat);
        cat++;
    }
    if (!want || strcasecmp(want, "test") == 0) {
        size_t n;
        const sim_prio *pl = sim_dialplan(&n);
        sim_buf_printf(&b, "Category-%06d: test\r\n", cat);
        for (size_t i = 0; i < n; i++) {
            if (pl[i].prio == 1)
                sim_buf_printf(&b, "Line-%06d-%06zu: exten=%s,1,%s(%s)\r\n", cat, i, pl[i].exten,
                               pl[i].app, pl[i].data);
            else
                sim_buf_printf(&b, "Line-%06d-%06zu: same=n,%s(%s)\r\n", cat, i, pl[i].app,
                               pl[i].data);
        }
        cat++;
    }
    finish(c, &b);
}

static void unit(char *buf, size_t n, size_t *used, long v, const char *name)
{
    if (v <= 0 || *used >= n)
        return;
    int w = snprintf(buf + *used, n - *used, "%s%ld %s%s", *used ? ", " : "", v, name,
                     v == 1 ? "" : "s");
    if (w > 0)
        *used += (size_t)w;
}

void sim_uptime_str(long secs, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    if (secs < 0)
        secs = 0;
    long y = secs / (365L * 86400), rest = secs % (365L * 86400);
    unit(buf, n, &used, y, "year");
    unit(buf, n, &used, rest / (7 * 86400), "week");
    rest %= 7 * 86400;
    unit(buf, n, &used, rest / 86400, "day");
    rest %= 86400;
    unit(buf, n, &used, rest / 3600, "hour");
    rest %= 3600;
    unit(buf, n, &used, rest / 60, "minute");
    if (rest % 60 || used == 0) {
        long s = rest % 60;
        snprintf(buf + used, n - used, "%s%ld second%s", used ? ", " : "", s, s == 1 ? "" : "s");
    }
}
