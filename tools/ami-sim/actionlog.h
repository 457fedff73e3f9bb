/*
 * --log-actions FILE: every action the sim received, appended to FILE in
 * wire form (CRLF lines, a blank line after each) and flushed at once, so
 * a test can tell what a client really sent — or that it sent nothing.
 */
#ifndef AMI_SIM_ACTIONLOG_H
#define AMI_SIM_ACTIONLOG_H

#include "sim.h"

int sim_log_open(const char *path);
void sim_log_action(const sim_conn *c, const ami_packet *p);
void sim_log_close(void);

#endif
