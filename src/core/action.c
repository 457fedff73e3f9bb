/*
 * Actions: an ordered list of headers, validated when added so that nothing
 * a caller passes can end the action early and smuggle in a second one.
 * Asterisk's own limits (manager.c: 1024-byte lines, 128 headers) are
 * enforced here too, because Asterisk silently drops what exceeds them.
 */
#include "action.h"

#include <string.h>

#define ACTIONID     "ActionID"
#define ACTIONID_LEN (sizeof(ACTIONID) - 1)
/* "Key: " and "\r\n" around every value. */
#define LINE_OVERHEAD 4u

typedef struct action_header {
    char *text; /* key NUL value NUL, one allocation */
    size_t key_len;
    size_t value_len;
} action_header;

struct ami_action {
    char *name;
    size_t name_len;
    action_header *headers;
    size_t count;
    size_t cap;
};

int ami__check_value(const char *s, size_t len)
{
    /* memchr is vectorised; three passes beat one byte loop on long values. */
    if (memchr(s, '\r', len) || memchr(s, '\n', len) || memchr(s, '\0', len))
        return AMI_ERR_INJECTION;
    return AMI_OK;
}

static int check_key(const char *key, size_t len)
{
    if (len == 0)
        return AMI_ERR_BAD_KEY;
    int rc = ami__check_value(key, len);
    if (rc)
        return rc;
    return memchr(key, ':', len) ? AMI_ERR_BAD_KEY : AMI_OK;
}

static bool line_fits(size_t key_len, size_t value_len)
{
    return key_len <= AMI_ACTION_MAX_LINE && value_len <= AMI_ACTION_MAX_LINE &&
           key_len + value_len + LINE_OVERHEAD <= AMI_ACTION_MAX_LINE;
}

int ami_action_create(ami_action **out, const char *name)
{
    if (!out)
        return AMI_ERR_INVALID;
    *out = NULL;
    if (!name)
        return AMI_ERR_INVALID;
    size_t len = strlen(name);
    int rc = ami__check_value(name, len);
    if (rc)
        return rc;
    if (!line_fits(sizeof("Action") - 1, len))
        return AMI_ERR_TOO_LONG;
    ami_action *a = ami__calloc(1, sizeof(*a));
    if (!a)
        return AMI_ERR_NOMEM;
    a->name = ami__strndup(name, len);
    if (!a->name) {
        ami__free(a);
        return AMI_ERR_NOMEM;
    }
    a->name_len = len;
    *out = a;
    return AMI_OK;
}

void ami_action_free(ami_action *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->count; i++)
        ami__free(a->headers[i].text);
    ami__free(a->headers);
    ami__free(a->name);
    ami__free(a);
}

/* A value given in up to three pieces (add_var joins name '=' value). */
typedef struct value_parts {
    const char *ptr[3];
    size_t len[3];
    size_t n;
} value_parts;

static size_t parts_len(const value_parts *v)
{
    size_t total = 0;
    for (size_t i = 0; i < v->n; i++)
        total += v->len[i];
    return total;
}

/* Validate and build one header; nothing is attached to the action yet. */
static int make_header(const char *key, size_t key_len, const value_parts *v, action_header *out)
{
    int rc = check_key(key, key_len);
    if (rc)
        return rc;
    for (size_t i = 0; i < v->n; i++) {
        if ((rc = ami__check_value(v->ptr[i], v->len[i])) != 0)
            return rc;
        if (v->len[i] > AMI_ACTION_MAX_LINE)
            return AMI_ERR_TOO_LONG;
    }
    size_t value_len = parts_len(v);
    if (!line_fits(key_len, value_len))
        return AMI_ERR_TOO_LONG;
    char *text = ami__malloc(key_len + value_len + 2);
    if (!text)
        return AMI_ERR_NOMEM;
    memcpy(text, key, key_len);
    text[key_len] = '\0';
    char *dst = text + key_len + 1;
    for (size_t i = 0; i < v->n; i++) {
        memcpy(dst, v->ptr[i], v->len[i]);
        dst += v->len[i];
    }
    *dst = '\0';
    out->text = text;
    out->key_len = key_len;
    out->value_len = value_len;
    return AMI_OK;
}

static bool key_matches(const action_header *h, const char *key, size_t key_len)
{
    return h->key_len == key_len && ami__key_equals(h->text, h->key_len, key);
}

/* Room for the Action: line plus the headers. */
static bool room_for(size_t headers)
{
    return headers + 1 <= AMI_ACTION_MAX_HEADERS;
}

static int grow(ami_action *a)
{
    if (a->count < a->cap)
        return AMI_OK;
    size_t cap = a->cap ? a->cap * 2 : 8;
    if (cap > AMI_ACTION_MAX_HEADERS)
        cap = AMI_ACTION_MAX_HEADERS;
    action_header *h = ami__realloc(a->headers, cap * sizeof(*h));
    if (!h)
        return AMI_ERR_NOMEM;
    a->headers = h;
    a->cap = cap;
    return AMI_OK;
}

static int append(ami_action *a, const char *key, size_t key_len, const value_parts *v)
{
    if (!room_for(a->count + 1)) {
        /* Validate anyway so that a bad key is reported as such. */
        int rc = check_key(key, key_len);
        return rc ? rc : AMI_ERR_TOO_MANY;
    }
    action_header h;
    int rc = make_header(key, key_len, v, &h);
    if (rc)
        return rc;
    if ((rc = grow(a)) != 0) {
        ami__free(h.text);
        return rc;
    }
    a->headers[a->count++] = h;
    return AMI_OK;
}

int ami_action_addn(ami_action *a, const char *key, size_t key_len, const char *value,
                    size_t value_len)
{
    if (!a || (!key && key_len) || (!value && value_len))
        return AMI_ERR_INVALID;
    value_parts v = {{value ? value : ""}, {value_len}, 1};
    return append(a, key ? key : "", key_len, &v);
}

int ami_action_add(ami_action *a, const char *key, const char *value)
{
    if (!a || !key || !value)
        return AMI_ERR_INVALID;
    return ami_action_addn(a, key, strlen(key), value, strlen(value));
}

int ami_action_add_var(ami_action *a, const char *key, const char *name, const char *value)
{
    if (!a || !key || !name || !value)
        return AMI_ERR_INVALID;
    value_parts v = {{name, "=", value}, {strlen(name), 1, strlen(value)}, 3};
    return append(a, key, strlen(key), &v);
}

int ami_action_set(ami_action *a, const char *key, const char *value)
{
    if (!a || !key || !value)
        return AMI_ERR_INVALID;
    size_t key_len = strlen(key);
    size_t first = SIZE_MAX;
    for (size_t i = 0; i < a->count; i++) {
        if (key_matches(&a->headers[i], key, key_len)) {
            first = i;
            break;
        }
    }
    value_parts v = {{value}, {strlen(value)}, 1};
    if (first == SIZE_MAX)
        return append(a, key, key_len, &v);

    action_header h;
    int rc = make_header(key, key_len, &v, &h);
    if (rc)
        return rc;
    ami__free(a->headers[first].text);
    a->headers[first] = h;
    /* Drop the later duplicates, keeping everything else in order. */
    size_t w = first + 1;
    for (size_t i = first + 1; i < a->count; i++) {
        if (key_matches(&a->headers[i], key, key_len))
            ami__free(a->headers[i].text);
        else
            a->headers[w++] = a->headers[i];
    }
    a->count = w;
    return AMI_OK;
}

const char *ami_action_name(const ami_action *a)
{
    return a ? a->name : NULL;
}

const char *ami_action_get(const ami_action *a, const char *key)
{
    if (!a || !key)
        return NULL;
    size_t key_len = strlen(key);
    for (size_t i = 0; i < a->count; i++) {
        if (key_matches(&a->headers[i], key, key_len))
            return a->headers[i].text + a->headers[i].key_len + 1;
    }
    return NULL;
}

size_t ami_action_count(const ami_action *a)
{
    return a ? a->count : 0;
}

static bool is_action_id(const action_header *h)
{
    return key_matches(h, ACTIONID, ACTIONID_LEN);
}

int ami__action_wire_size(const ami_action *a, const char *id, size_t id_len, size_t *out)
{
    size_t lines = 1;
    size_t total = sizeof("Action: \r\n") - 1 + a->name_len;
    if (id) {
        int rc = ami__check_value(id, id_len);
        if (rc)
            return rc;
        if (!line_fits(ACTIONID_LEN, id_len))
            return AMI_ERR_TOO_LONG;
        lines++;
        total += ACTIONID_LEN + LINE_OVERHEAD + id_len;
    }
    for (size_t i = 0; i < a->count; i++) {
        const action_header *h = &a->headers[i];
        if (id && is_action_id(h))
            continue;
        lines++;
        total += h->key_len + LINE_OVERHEAD + h->value_len;
    }
    if (lines > AMI_ACTION_MAX_HEADERS)
        return AMI_ERR_TOO_MANY;
    *out = total + 2; /* the blank line */
    return AMI_OK;
}

static char *put(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    return dst + n;
}

static char *put_line(char *dst, const char *key, size_t key_len, const char *value,
                      size_t value_len)
{
    dst = put(dst, key, key_len);
    dst = put(dst, ": ", 2);
    dst = put(dst, value, value_len);
    return put(dst, "\r\n", 2);
}

void ami__action_write(const ami_action *a, const char *id, size_t id_len, char *dst)
{
    dst = put_line(dst, "Action", 6, a->name, a->name_len);
    if (id)
        dst = put_line(dst, ACTIONID, ACTIONID_LEN, id, id_len);
    for (size_t i = 0; i < a->count; i++) {
        const action_header *h = &a->headers[i];
        if (id && is_action_id(h))
            continue;
        dst = put_line(dst, h->text, h->key_len, h->text + h->key_len + 1, h->value_len);
    }
    put(dst, "\r\n", 2);
}

int ami_action_serialize(const ami_action *a, const char *action_id, char **out, size_t *out_len)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!a || !out)
        return AMI_ERR_INVALID;
    size_t id_len = action_id ? strlen(action_id) : 0;
    size_t len;
    int rc = ami__action_wire_size(a, action_id, id_len, &len);
    if (rc)
        return rc;
    /* Documented as freed with free(): ami__malloc is malloc underneath. */
    char *buf = ami__malloc(len + 1);
    if (!buf)
        return AMI_ERR_NOMEM;
    ami__action_write(a, action_id, id_len, buf);
    buf[len] = '\0';
    *out = buf;
    if (out_len)
        *out_len = len;
    return AMI_OK;
}
