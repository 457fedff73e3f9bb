/* The NATS message id of an event that carries a Timestamp (Asterisk with
 * `timestampevents = yes` in manager.conf):
 *
 *     <server>:ts:<Timestamp>:<hash>
 *
 * derived from the event alone, so that two amid instances connected to
 * the same PBX (an HA pair) give the same event the same id and JetStream
 * stores it once. Asterisk writes an event's text once and sends the very
 * same bytes to every manager session, Timestamp included.
 *
 * The hash is SHA-256 over the event's headers in order, each as the AMI
 * line `Key: Value\r\n` (the bytes the PBX sent, not amid's JSON, which
 * carries this instance's seq and epoch), cut to 128 bits (32 hex
 * digits). It only has to tell apart events of one server stamped in the
 * same microsecond, for which 64 bits would do by far; but the headers
 * carry caller-controlled text (caller ids, UserEvent bodies), and a
 * collision is an event JetStream silently drops as a duplicate, so the
 * hash is a cryptographic one, cut to a length at which no one can craft
 * two events that share it. */
#include "app.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* SEC.USEC as Asterisk writes it; anything else (a hostile or broken
 * value) is not used, and the event keeps the per-instance id. */
static int valid_timestamp(const char *v, size_t n)
{
    size_t i = 0, int_digits = 0, frac_digits = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9')
        i++, int_digits++;
    if (i == n || v[i] != '.')
        return 0;
    i++;
    while (i < n && v[i] >= '0' && v[i] <= '9')
        i++, frac_digits++;
    return i == n && int_digits >= 1 && int_digits <= 20 && frac_digits >= 1 && frac_digits <= 9;
}

static int digest_headers(const ami_packet *p, unsigned char out[32])
{
    static EVP_MD_CTX *ctx; /* one thread (the loop): reused, never freed */
    if (!ctx && !(ctx = EVP_MD_CTX_new()))
        return -1;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        return -1;
    size_t n = ami_packet_count(p);
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t kl, vl;
        if (ami_packet_header(p, i, &k, &kl, &v, &vl) != 0)
            return -1;
        if (EVP_DigestUpdate(ctx, k, kl) != 1 || EVP_DigestUpdate(ctx, ": ", 2) != 1 ||
            EVP_DigestUpdate(ctx, v, vl) != 1 || EVP_DigestUpdate(ctx, "\r\n", 2) != 1)
            return -1;
    }
    unsigned len = 32;
    return EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32 ? 0 : -1;
}

int amid_event_msgid(const char *server, const ami_packet *p, char *out, size_t cap)
{
    size_t tl = 0;
    const char *ts = ami_packet_getn(p, "Timestamp", &tl);
    unsigned char d[32];
    if (!ts || !valid_timestamp(ts, tl) || digest_headers(p, d) != 0)
        return -1;
    static const char hex[] = "0123456789abcdef";
    char h[AMID_MSGID_HASH_BYTES * 2 + 1];
    for (size_t i = 0; i < AMID_MSGID_HASH_BYTES; i++) {
        h[2 * i] = hex[d[i] >> 4];
        h[2 * i + 1] = hex[d[i] & 15];
    }
    h[sizeof h - 1] = '\0';
    int n = snprintf(out, cap, "%s:ts:%.*s:%s", server, (int)tl, ts, h);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}
