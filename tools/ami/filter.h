/* Key=GLOB filters of `ami events` (--filter, --until). */
#ifndef AMI_TOOL_FILTER_H
#define AMI_TOOL_FILTER_H

#include "tool.h"

/* Add "Key=GLOB" (split at the first '='). Returns 0, or -1 when the
 * argument has no '=' or an empty key. */
int tool_filter_add(tool_filter *f, const char *arg);
/* 1 when every entry matches some header of p (key compared ASCII
 * case-insensitively, value with fnmatch); an empty filter matches all. */
int tool_filter_match(const tool_filter *f, const ami_packet *p);
void tool_filter_free(tool_filter *f);

#endif
