/*
 * Where the login secret comes from: --secret-file, AMI_SECRET, or a prompt
 * on the terminal. Never from a command-line argument (visible in ps).
 */
#ifndef AMI_TOOL_SECRET_H
#define AMI_TOOL_SECRET_H

#include "tool.h"

#define TOOL_SECRET_MAX 1024

/* Fill buf (NUL-terminated) with the secret. Returns 0, or an exit status
 * after printing what failed and what to do. */
int tool_secret_get(const tool_opts *o, char buf[TOOL_SECRET_MAX]);
/* Overwrite the secret so it does not linger in memory. */
void tool_secret_wipe(char buf[TOOL_SECRET_MAX]);

#endif
