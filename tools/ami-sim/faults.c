/* Fault modes for testing clients against a misbehaving server, and the
 * greeting (where most of them start). */
#include "sim.h"

#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
} faults[] = {
    {"close-mid-packet", SIM_FAULT_CLOSE_MID},
    {"stop-reading", SIM_FAULT_STOP_READING},
    {"stall", SIM_FAULT_STALL},
    {"garbage", SIM_FAULT_GARBAGE},
    {"oversize-header", SIM_FAULT_OVERSIZE},
    {"no-banner", SIM_FAULT_NO_BANNER},
    {"wrong-banner", SIM_FAULT_WRONG_BANNER},
    {"trickle", SIM_FAULT_TRICKLE},
};

int sim_fault_parse(const char *name, unsigned *out)
{
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        if (strcmp(name, faults[i].name) == 0) {
            *out |= faults[i].bit;
            return 0;
        }
    }
    return -1;
}

const char *sim_fault_names(void)
{
    return "close-mid-packet, stop-reading, stall, garbage, oversize-header, no-banner, "
           "wrong-banner, trickle";
}

/* Bytes no AMI server would send: NULs, high bytes, a line with no colon,
 * a CR without LF. */
static const char garbage[] = "\x00\x01\xfe\xff\x80garbage without a colon\r\n"
                              "\xde\xad\xbe\xef\r\x7f\x00\x00\r\n\r\n";

void sim_send_banner(sim_conn *c)
{
    sim *s = c->sim;
    unsigned f = s->opt.faults;
    if (f & SIM_FAULT_WRONG_BANNER)
        sim_conn_send(c, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 32);
    else if (!(f & SIM_FAULT_NO_BANNER)) {
        if (s->replay_banner)
            sim_conn_send(c, s->replay_banner, s->replay_banner_len);
        else
            sim_conn_send(c, "Asterisk Call Manager/" SIM_AMI_VERSION "\r\n",
                          sizeof("Asterisk Call Manager/" SIM_AMI_VERSION "\r\n") - 1);
    }
    if (f & SIM_FAULT_GARBAGE)
        sim_conn_send(c, garbage, sizeof garbage - 1);
    if (f & SIM_FAULT_OVERSIZE) {
        sim_conn_send(c, "Response: Success\r\nX-Oversize: ", 31);
        c->oversize_on = 1;
    }
    c->banner_done = 1;
}
