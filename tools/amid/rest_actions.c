/* JSON ↔ AMI: a JSON object of headers becomes an ami_action (a list is a
 * repeated header), and packets and results become JSON. Every value goes
 * through libami's action builder, which refuses CR, LF and NUL, so a
 * caller cannot smuggle a second action; jansson has already refused
 * invalid UTF-8 and \u0000 in the request. */
#include "amid.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int add_value(ami_action *a, const char *key, const json_t *v, char *why, size_t whycap)
{
    char num[64];
    const char *s;
    size_t n;
    switch (json_typeof(v)) {
    case JSON_STRING:
        s = json_string_value(v);
        n = json_string_length(v);
        break;
    case JSON_INTEGER:
        n = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = num;
        break;
    case JSON_REAL:
        n = (size_t)snprintf(num, sizeof num, "%.17g", json_real_value(v));
        s = num;
        break;
    case JSON_TRUE:
        s = "true";
        n = 4;
        break;
    case JSON_FALSE:
        s = "false";
        n = 5;
        break;
    default:
        snprintf(why, whycap,
                 "header %.64s: a value is a string, number, boolean or a list of them", key);
        return 400;
    }
    int r = ami_action_addn(a, key, strlen(key), s, n);
    if (r == 0)
        return 0;
    if (r == AMI_ERR_INJECTION)
        snprintf(why, whycap, "header %.64s: CR, LF or NUL in a key or value", key);
    else if (r == AMI_ERR_BAD_KEY)
        snprintf(why, whycap, "header %.64s: not a valid header name", key);
    else if (r == AMI_ERR_TOO_LONG)
        snprintf(why, whycap, "header %.64s: line longer than Asterisk accepts (%d bytes)", key,
                 AMI_ACTION_MAX_LINE);
    else if (r == AMI_ERR_TOO_MANY)
        snprintf(why, whycap, "more than %d header lines", AMI_ACTION_MAX_HEADERS);
    else
        snprintf(why, whycap, "header %.64s: %s", key, ami_strerror(r));
    return r == AMI_ERR_NOMEM ? 503 : 400;
}

int amid_action_from_json(const json_t *obj, ami_action **out, char *why, size_t whycap)
{
    *out = NULL;
    if (!json_is_object(obj)) {
        snprintf(why, whycap, "the action is a JSON object of headers");
        return 400;
    }
    const char *key;
    json_t *v;
    const char *name = NULL;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (strcasecmp(key, "Action") == 0) {
            if (name || !json_is_string(v)) {
                snprintf(why, whycap, "\"Action\" must appear once, as a string");
                return 400;
            }
            name = json_string_value(v);
        }
    }
    if (!name || !*name) {
        snprintf(why, whycap, "no \"Action\"");
        return 400;
    }
    ami_action *a;
    int r = ami_action_create(&a, name);
    if (r != 0) {
        snprintf(why, whycap, "Action: %s",
                 r == AMI_ERR_INJECTION ? "CR, LF or NUL in the name" : ami_strerror(r));
        return r == AMI_ERR_NOMEM ? 503 : 400;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        if (strcasecmp(key, "Action") == 0)
            continue;
        if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                if (json_is_array(e) || json_is_object(e) || json_is_null(e)) {
                    snprintf(why, whycap, "header %.64s: list items are strings or numbers", key);
                    ami_action_free(a);
                    return 400;
                }
                if ((r = add_value(a, key, e, why, whycap)) != 0) {
                    ami_action_free(a);
                    return r;
                }
            }
        } else if ((r = add_value(a, key, v, why, whycap)) != 0) {
            ami_action_free(a);
            return r;
        }
    }
    *out = a;
    return 0;
}

/* Bytes from the PBX are not always UTF-8; jansson only takes UTF-8.
 * Invalid sequences become U+FFFD. */
static json_t *utf8_string(const char *s, size_t n)
{
    size_t i = 0;
    for (; i < n; i++)
        if ((unsigned char)s[i] >= 0x80 || s[i] == 0)
            break;
    if (i == n)
        return json_stringn_nocheck(s, n);
    char stackbuf[512];
    size_t cap = n * 3 + 1;
    char *buf = cap <= sizeof stackbuf ? stackbuf : malloc(cap);
    if (!buf)
        return NULL;
    size_t o = 0;
    i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        int ok = len > 0 && i + len <= n && c != 0;
        for (size_t k = 1; ok && k < len; k++)
            ok = ((unsigned char)s[i + k] >> 6) == 2;
        if (ok && len > 1) {
            /* overlongs, surrogates, > U+10FFFF */
            unsigned cp = c & (0xff >> (len + 1));
            for (size_t k = 1; k < len; k++)
                cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
            ok = !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                   (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff));
        }
        if (ok) {
            memcpy(buf + o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn_nocheck(buf, o);
    if (buf != stackbuf)
        free(buf);
    return j;
}

json_t *amid_packet_json(const ami_packet *p)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    size_t n = ami_packet_count(p);
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t kl, vl;
        if (ami_packet_header(p, i, &k, &kl, &v, &vl) != 0)
            continue;
        char key[256];
        json_t *ks = utf8_string(k, kl < sizeof key - 1 ? kl : sizeof key - 1);
        json_t *vs = utf8_string(v, vl);
        if (!ks || !vs) {
            json_decref(ks);
            json_decref(vs);
            json_decref(o);
            return NULL;
        }
        snprintf(key, sizeof key, "%s", json_string_value(ks));
        json_decref(ks);
        json_t *old = json_object_get(o, key);
        if (!old)
            json_object_set_new_nocheck(o, key, vs);
        else if (json_is_array(old))
            json_array_append_new(old, vs);
        else {
            json_t *arr = json_array();
            if (!arr) {
                json_decref(vs);
                json_decref(o);
                return NULL;
            }
            json_array_append(arr, old);
            json_array_append_new(arr, vs);
            json_object_set_new_nocheck(o, key, arr);
        }
    }
    return o;
}

json_t *amid_result_json(const ami_result *r)
{
    json_t *o = json_object();
    const ami_packet *resp = ami_result_response(r);
    json_object_set_new(o, "response", resp ? amid_packet_json(resp) : json_object());
    json_t *ev = json_array();
    for (size_t i = 0; i < ami_result_event_count(r); i++)
        json_array_append_new(ev, amid_packet_json(ami_result_event(r, i)));
    json_object_set_new(o, "events", ev);
    return o;
}

int amid_status_of(int err)
{
    switch (err) {
    case 0:
    case AMI_ERR_ACTION_FAILED:
        return 200;
    case AMI_ERR_TIMEOUT:
        return 504;
    case AMI_ERR_DUPLICATE_ID:
        return 409;
    case AMI_ERR_INJECTION:
    case AMI_ERR_BAD_KEY:
    case AMI_ERR_TOO_LONG:
    case AMI_ERR_TOO_MANY:
    case AMI_ERR_INVALID:
        return 400;
    case AMI_ERR_NOMEM:
        return 503;
    default: /* DISCONNECTED, CANCELLED, STATE (not up), CLOSED, ... */
        return 502;
    }
}
