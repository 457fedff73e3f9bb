/*
 * Parser fuzz target. The first 8 input bytes choose the limits and the
 * chunking, the rest is the stream; every packet is checked for internal
 * consistency (offsets inside the packet, NUL terminators in place, a copy
 * equal to the original) and the same stream fed whole must give the same
 * packets as fed in chunks.
 */
#include <ami/ami.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct digest {
    uint64_t hash;
    size_t packets;
    int error;
} digest;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void check_packet(const ami_packet *pkt, digest *d)
{
    ami_packet *copy = NULL;
    int rc = ami_packet_dup(pkt, &copy);
    if (rc != 0 && rc != AMI_ERR_NOMEM)
        abort();
    for (size_t i = 0; i < ami_packet_count(pkt); i++) {
        const char *k, *v;
        size_t kl, vl;
        if (ami_packet_header(pkt, i, &k, &kl, &v, &vl) != 0)
            abort();
        if (k[kl] != '\0' || v[vl] != '\0')
            abort();
        d->hash = mix(d->hash, k, kl + 1);
        d->hash = mix(d->hash, v, vl + 1);
        if (copy) {
            const char *ck, *cv;
            size_t ckl, cvl;
            ami_packet_header(copy, i, &ck, &ckl, &cv, &cvl);
            if (ckl != kl || cvl != vl || memcmp(ck, k, kl) || memcmp(cv, v, vl))
                abort();
        }
    }
    (void)ami_packet_get(pkt, "ActionID");
    (void)ami_packet_kind_of(pkt);
    ami_packet_free(copy);
    d->packets++;
}

static digest run(const uint8_t *data, size_t size, unsigned flags, size_t max_line,
                  size_t max_headers, size_t max_packet, size_t chunk)
{
    digest d = {1469598103934665603ull, 0, 0};
    ami_parser *p;
    if (ami_parser_create(&p, flags) != 0)
        abort();
    ami_parser_set_limits(p, max_line, max_headers, max_packet);
    size_t off = 0;
    while (off < size && !d.error) {
        size_t n = size - off < chunk ? size - off : chunk;
        int rc = ami_parser_feed(p, (const char *)data + off, n);
        off += n;
        const ami_packet *pkt;
        while (rc >= 0 && (rc = ami_parser_next(p, &pkt)) == 1)
            check_packet(pkt, &d);
        if (rc < 0)
            d.error = rc;
    }
    ami_parser_free(p);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    unsigned flags = data[0] & 1 ? AMI_PARSER_EXPECT_BANNER : 0;
    size_t max_line = data[1] ? (size_t)data[1] * 8 : 0;
    size_t max_headers = data[2] ? data[2] : 0;
    size_t max_packet = data[3] ? (size_t)data[3] * 64 : 0;
    size_t chunk = 1 + ((size_t)data[4] | (size_t)data[5] << 8);
    data += 8;
    size -= 8;
    digest whole = run(data, size, flags, max_line, max_headers, max_packet, size ? size : 1);
    digest split = run(data, size, flags, max_line, max_headers, max_packet, chunk);
    /* Chunking must never change the outcome. Limits are checked as bytes
     * arrive, so an error may be found at a different packet count only if
     * the limits are hit: compare the packets seen before the error. */
    if (!whole.error && !split.error &&
        (whole.hash != split.hash || whole.packets != split.packets))
        abort();
    if ((whole.error == 0) != (split.error == 0) && whole.error != AMI_ERR_NOMEM &&
        split.error != AMI_ERR_NOMEM)
        abort();
    return 0;
}
