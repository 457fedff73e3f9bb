/* Tokens: only their SHA-256 is stored (in the config); a presented token
 * is hashed and compared with every configured hash in constant time, so
 * neither the match nor its position leaks through timing. */
#include "amid.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

void amid_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
        memset(out, 0, 32); /* cannot happen with a built-in digest; matches nothing real */
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int amid_hash_parse(const char *s, unsigned char out[32])
{
    if (strncmp(s, "sha256:", 7) != 0)
        return -1;
    s += 7;
    if (strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
        if (h < 0 || l < 0)
            return -1;
        out[i] = (unsigned char)(h << 4 | l);
    }
    return 0;
}

amid_token *amid_token_find(amid_token *t, size_t n, const char *presented, size_t len)
{
    unsigned char h[32];
    amid_sha256(presented, len, h);
    amid_token *found = NULL;
    for (size_t i = 0; i < n; i++) {
        /* No early exit: every hash is compared. */
        int eq = t[i].has_hash && CRYPTO_memcmp(h, t[i].hash, 32) == 0;
        if (eq && !found)
            found = &t[i];
    }
    return found;
}

int amid_random_hex(char *buf, size_t n)
{
    unsigned char raw[64];
    if (n > sizeof raw || RAND_bytes(raw, (int)n) != 1)
        return -1;
    for (size_t i = 0; i < n; i++)
        sprintf(buf + 2 * i, "%02x", raw[i]);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

int amid_token_generate(char *buf, size_t cap)
{
    static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[32];
    size_t plen = strlen(AMID_TOKEN_PREFIX);
    if (cap < plen + 44 || RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    memcpy(buf, AMID_TOKEN_PREFIX, plen);
    /* 256 random bits, base64url without padding: 43 characters. */
    size_t o = plen;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < sizeof raw; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            buf[o++] = b64u[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits)
        buf[o++] = b64u[(acc << (6 - bits)) & 63];
    buf[o] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

int amid_cmd_token_new(const char *name)
{
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.')) {
            fprintf(stderr, "amid: token name '%s': use letters, digits, '-', '_' or '.'\n", name);
            return 2;
        }
    if (!*name || strlen(name) > 64) {
        fprintf(stderr, "amid: token name must be 1 to 64 characters\n");
        return 2;
    }
    char tok[128];
    if (amid_token_generate(tok, sizeof tok) != 0) {
        fprintf(stderr, "amid: no randomness available\n");
        return 1;
    }
    unsigned char h[32];
    amid_sha256(tok, strlen(tok), h);
    printf("%s\n", tok);
    printf("hash = sha256:");
    for (int i = 0; i < 32; i++)
        printf("%02x", h[i]);
    printf("\n");
    fprintf(stderr,
            "amid: line 1 is the token for '%s' (give it to the client; it is shown once),\n"
            "      line 2 goes into the [token %s] section of amid.conf\n",
            name, name);
    OPENSSL_cleanse(tok, sizeof tok);
    return 0;
}

int amid_token_rate_ok(amid_token *t, uint64_t now_ms)
{
    if (t->rate <= 0)
        return 1;
    if (t->bucket_ms == 0) {
        t->bucket = t->burst;
        t->bucket_ms = now_ms;
    }
    double add = (double)(now_ms - t->bucket_ms) / 1000.0 * t->rate;
    t->bucket_ms = now_ms;
    t->bucket += add;
    if (t->bucket > t->burst)
        t->bucket = t->burst;
    if (t->bucket < 1.0)
        return 0;
    t->bucket -= 1.0;
    return 1;
}
