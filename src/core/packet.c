/* Packet accessors, classification, copies and banner parsing. */
#include "internal.h"

#include <string.h>

static const char key_output[] = "Output";
static const char key_banner[] = "Banner";

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* For lookups by name over every header: lengths first, as most keys
 * differ in length and then no byte needs a look. A key with a NUL inside
 * never equals a C string (name_len is its strlen). */
static bool key_equals_len(const char *key, size_t key_len, const char *name, size_t name_len)
{
    if (key_len != name_len)
        return false;
    for (size_t i = 0; i < key_len; i++) {
        if (lower(key[i]) != lower(name[i]))
            return false;
    }
    return true;
}

/* Against a string literal: its length is known at compile time, so a
 * key of another length costs one compare (classify runs per packet). */
#define KEY_IS(key, len, lit) key_equals_len(key, len, lit, sizeof(lit) - 1)

bool ami__key_equals(const char *key, size_t key_len, const char *name)
{
    for (size_t i = 0; i < key_len; i++) {
        if (name[i] == '\0' || lower(key[i]) != lower(name[i]))
            return false;
    }
    return name[key_len] == '\0';
}

const char *ami__packet_key(const ami_packet *p, const ami__header *h)
{
    if (h->key_off == AMI__KEY_OUTPUT)
        return key_output;
    if (h->key_off == AMI__KEY_BANNER)
        return key_banner;
    return p->base + h->key_off;
}

static ami_response_type response_type(const char *v, size_t len)
{
    if (KEY_IS(v, len, "Success"))
        return AMI_RESPONSE_SUCCESS;
    if (KEY_IS(v, len, "Error"))
        return AMI_RESPONSE_ERROR;
    if (KEY_IS(v, len, "Follows"))
        return AMI_RESPONSE_FOLLOWS;
    if (KEY_IS(v, len, "Goodbye"))
        return AMI_RESPONSE_GOODBYE;
    return AMI_RESPONSE_OTHER;
}

void ami__packet_classify(ami_packet *p)
{
    p->kind = AMI_PACKET_UNKNOWN;
    p->response = AMI_RESPONSE_NONE;
    if (p->count == 0)
        return;
    const ami__header *h = &p->headers[0];
    if (h->key_off == AMI__KEY_BANNER) {
        p->kind = AMI_PACKET_BANNER;
        return;
    }
    const char *key = ami__packet_key(p, h);
    if (KEY_IS(key, h->key_len, "Response")) {
        p->kind = AMI_PACKET_RESPONSE;
        p->response = (uint8_t)response_type(p->base + h->value_off, h->value_len);
    } else if (KEY_IS(key, h->key_len, "Event")) {
        p->kind = AMI_PACKET_EVENT;
    } else if (KEY_IS(key, h->key_len, "Action")) {
        p->kind = AMI_PACKET_ACTION;
    }
}

ami_packet_kind ami_packet_kind_of(const ami_packet *p)
{
    return p ? (ami_packet_kind)p->kind : AMI_PACKET_UNKNOWN;
}

ami_response_type ami_packet_response_type(const ami_packet *p)
{
    return p ? (ami_response_type)p->response : AMI_RESPONSE_NONE;
}

int ami_packet_is_legacy_output(const ami_packet *p)
{
    return p ? p->legacy : 0;
}

size_t ami_packet_count(const ami_packet *p)
{
    return p ? p->count : 0;
}

size_t ami_packet_wire_size(const ami_packet *p)
{
    return p ? p->wire_size : 0;
}

int ami_packet_header(const ami_packet *p, size_t i, const char **key, size_t *key_len,
                      const char **value, size_t *value_len)
{
    if (!p || i >= p->count)
        return AMI_ERR_INVALID;
    const ami__header *h = &p->headers[i];
    if (key)
        *key = ami__packet_key(p, h);
    if (key_len)
        *key_len = h->key_len;
    if (value)
        *value = p->base + h->value_off;
    if (value_len)
        *value_len = h->value_len;
    return AMI_OK;
}

const char *ami_packet_next_value(const ami_packet *p, const char *key, size_t *cursor,
                                  size_t *value_len)
{
    if (!p || !key || !cursor)
        return NULL;
    size_t key_len = strlen(key);
    for (size_t i = *cursor; i < p->count; i++) {
        const ami__header *h = &p->headers[i];
        if (key_equals_len(ami__packet_key(p, h), h->key_len, key, key_len)) {
            *cursor = i + 1;
            if (value_len)
                *value_len = h->value_len;
            return p->base + h->value_off;
        }
    }
    *cursor = p->count;
    return NULL;
}

const char *ami_packet_getn(const ami_packet *p, const char *key, size_t *value_len)
{
    size_t cursor = 0;
    return ami_packet_next_value(p, key, &cursor, value_len);
}

const char *ami_packet_get(const ami_packet *p, const char *key)
{
    return ami_packet_getn(p, key, NULL);
}

size_t ami_packet_count_key(const ami_packet *p, const char *key)
{
    size_t n = 0, cursor = 0;
    while (ami_packet_next_value(p, key, &cursor, NULL))
        n++;
    return n;
}

const char *ami_packet_event_name(const ami_packet *p)
{
    return (p && p->kind == AMI_PACKET_EVENT) ? p->base + p->headers[0].value_off : NULL;
}

const char *ami_packet_action_id(const ami_packet *p)
{
    return ami_packet_get(p, "ActionID");
}

const char *ami_packet_message(const ami_packet *p)
{
    return ami_packet_get(p, "Message");
}

/*
 * A copy is one block: the struct, the header array, then the bytes from
 * the first key to the end of the last value. The parser's storage is
 * contiguous per packet, so offsets stay valid relative to the copy.
 */
int ami_packet_dup(const ami_packet *p, ami_packet **out)
{
    if (!p || !out)
        return AMI_ERR_INVALID;
    *out = NULL;
    size_t span = 0;
    for (size_t i = 0; i < p->count; i++) {
        const ami__header *h = &p->headers[i];
        size_t end = (size_t)h->value_off + h->value_len + 1; /* + NUL */
        if (end > span)
            span = end;
    }
    size_t head = sizeof(ami_packet);
    size_t hdrs = p->count * sizeof(ami__header);
    char *block = ami__malloc(head + hdrs + span);
    if (!block)
        return AMI_ERR_NOMEM;
    ami_packet *copy = (ami_packet *)(void *)block;
    *copy = *p;
    copy->headers = (ami__header *)(void *)(block + head);
    memcpy(copy->headers, p->headers, hdrs);
    char *bytes = block + head + hdrs;
    memcpy(bytes, p->base, span);
    copy->base = bytes;
    copy->is_copy = 1;
    *out = copy;
    return AMI_OK;
}

void ami_packet_free(ami_packet *p)
{
    if (p && p->is_copy)
        ami__free(p);
}

static const char *parse_number(const char *s, const char *end, int *out)
{
    long v = 0;
    const char *start = s;
    while (s < end && *s >= '0' && *s <= '9' && v < 1000000) {
        v = v * 10 + (*s - '0');
        s++;
    }
    if (out)
        *out = (int)v;
    return s == start ? NULL : s;
}

int ami_banner_parse(const char *line, size_t len, int *major, int *minor, int *patch)
{
    static const char prefix[] = "Asterisk Call Manager";
    const size_t prefix_len = sizeof(prefix) - 1;
    if (major)
        *major = 0;
    if (minor)
        *minor = 0;
    if (patch)
        *patch = 0;
    if (!line || len < prefix_len || memcmp(line, prefix, prefix_len) != 0)
        return AMI_ERR_BAD_BANNER;
    /* "Asterisk Call Manager/2.10.3" or "Asterisk Call Manager Proxy/1.0". */
    const char *slash = memchr(line, '/', len);
    if (!slash)
        return AMI_OK;
    const char *end = line + len;
    const char *s = parse_number(slash + 1, end, major);
    if (s && s < end && *s == '.')
        s = parse_number(s + 1, end, minor);
    if (s && s < end && *s == '.')
        parse_number(s + 1, end, patch);
    return AMI_OK;
}
