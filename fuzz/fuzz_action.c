/*
 * Action builder fuzz target: hostile keys and values. Whatever is added,
 * the serialized bytes must hold exactly one action: one "Action:" line at
 * the start, one blank-line terminator at the very end, no bare CR, and
 * every accepted header must come back out of the parser unchanged.
 */
#include <ami/ami.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ami_action *a;
    if (ami_action_create(&a, "Fuzz") != 0)
        return 0;
    /* Input: records of [klen][vlen][key][value]. */
    size_t off = 0, accepted = 0;
    while (off + 2 <= size) {
        size_t kl = data[off], vl = data[off + 1];
        off += 2;
        if (off + kl + vl > size)
            break;
        int rc =
            ami_action_addn(a, (const char *)data + off, kl, (const char *)data + off + kl, vl);
        const uint8_t *k = data + off, *v = data + off + kl;
        int hostile = kl == 0 || memchr(k, ':', kl) || memchr(k, '\r', kl) || memchr(k, '\n', kl) ||
                      memchr(k, '\0', kl) || memchr(v, '\r', vl) || memchr(v, '\n', vl) ||
                      memchr(v, '\0', vl);
        if (hostile && rc == 0)
            abort(); /* a hostile header was accepted */
        /* Serialize with an id replaces the action's own ActionID headers. */
        if (rc == 0 && !(kl == 8 && strncasecmp((const char *)k, "ActionID", 8) == 0))
            accepted++;
        off += kl + vl;
    }
    char *wire = NULL;
    size_t len = 0;
    if (ami_action_serialize(a, "fz-1", &wire, &len) == 0) {
        if (len < 4 || memcmp(wire + len - 4, "\r\n\r\n", 4) != 0)
            abort();
        /* Exactly one terminator, at the end. */
        const char *t = strstr(wire, "\r\n\r\n");
        if (!t || (size_t)(t - wire) != len - 4)
            abort();
        ami_parser *p;
        if (ami_parser_create(&p, 0) == 0) {
            const ami_packet *pkt;
            if (ami_parser_feed(p, wire, len) != 0 || ami_parser_next(p, &pkt) != 1)
                abort();
            if (ami_packet_kind_of(pkt) != AMI_PACKET_ACTION ||
                ami_packet_count(pkt) != accepted + 2)
                abort();
            if (ami_parser_next(p, &pkt) != 0)
                abort();
            ami_parser_free(p);
        }
        free(wire);
    }
    ami_action_free(a);
    return 0;
}
