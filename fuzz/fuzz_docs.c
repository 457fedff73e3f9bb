/*
 * Documentation parser fuzz target (tools/ami/docs_parse.c, compiled in
 * unchanged): the Output lines of `manager show command|event` from a
 * hostile server. The first byte picks command or event documentation;
 * the rest is split into lines at '\n'. Whatever the input, the parser
 * must not crash or leak, must refuse rather than truncate, and what it
 * accepts must be consistent: names that are names, no header twice.
 */
#include "docs_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TOOL_DOC_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int is_event = data[0] & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    n++;
    const char **lines = malloc(n * sizeof *lines);
    size_t *lens = malloc(n * sizeof *lens);
    if (!lines || !lens) {
        free(lines);
        free(lens);
        return 0;
    }
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            lines[k] = text + start;
            lens[k++] = i - start;
            start = i + 1;
        }
    }
    tool_doc d;
    const char *why = NULL;
    int rc = tool_doc_parse(lines, lens, k, is_event, &d, &why);
    if (rc == TOOL_DOC_OK) {
        if (!d.name || !is_name(d.name) || d.is_event != is_event || !d.synopsis ||
            !d.description || d.nparams > TOOL_DOC_MAX_PARAMS)
            abort();
        for (size_t i = 0; i < d.nparams; i++) {
            if (!is_name(d.params[i].name))
                abort();
            if (tool_doc_param_find(&d, d.params[i].name, strlen(d.params[i].name)) != &d.params[i])
                abort(); /* a header listed twice */
        }
        for (size_t i = 0; i < d.nargs; i++)
            if (!is_name(d.args[i].name) || !tool_doc_arg_text(&d, d.args[i].name))
                abort();
        if (d.final_event && !is_name(d.final_event))
            abort();
        tool_doc_free(&d);
    } else {
        if (d.name || d.params || d.nparams)
            abort(); /* a refusal leaves nothing behind */
        if (rc == TOOL_DOC_BAD && !why)
            abort(); /* every refusal says why */
    }
    free(lines);
    free(lens);
    return 0;
}
