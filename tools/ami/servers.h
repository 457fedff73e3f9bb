/*
 * The servers a command talks to: every -H (or AMI_HOST, or localhost),
 * each with its own port or the default one, and the --server choice.
 */
#ifndef AMI_TOOL_SERVERS_H
#define AMI_TOOL_SERVERS_H

#include "tool.h"

/* Fill o->servers from the -H list and select o->host/o->port (the first
 * server, or the one --server names; with --server the list keeps only
 * that one). Returns 0 or an exit status (usage error) after a message. */
int tool_servers_settle(tool_opts *o);

#endif
