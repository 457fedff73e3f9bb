/*
 * UTF-8 validation and JSON string escaping. AMI values are bytes from the
 * network; JSON needs valid UTF-8, so every invalid byte becomes U+FFFD and
 * every control character is escaped.
 */
#ifndef AMI_TOOL_JSONSTR_H
#define AMI_TOOL_JSONSTR_H

#include "buf.h"

#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at s, or 0 if s[0] does not
 * start one (overlong forms, surrogates and code points past U+10FFFF are
 * invalid). n > 0. */
size_t tool_utf8_seq(const unsigned char *s, size_t n);

/* Append s with each invalid byte replaced by U+FFFD. */
void tool_utf8_sanitize(tool_buf *out, const char *s, size_t n);

/* Append s as a quoted JSON string (sanitized and escaped). */
void tool_json_string(tool_buf *out, const char *s, size_t n);

#endif
