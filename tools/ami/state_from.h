/* `ami state --from FILE`: a store built from a recorded server stream
 * (see state_from.c for how its list responses answer the store). */
#ifndef AMI_TOOL_STATE_FROM_H
#define AMI_TOOL_STATE_FROM_H

#include "tool.h"

#include <ami/state.h>

/* Feed the capture at `path` ("-": stdin) into `st`. Returns 0, or an
 * exit status after a message (the state built so far stays in `st`). */
int tool_state_from(const char *path, ami_state *st);

#endif
