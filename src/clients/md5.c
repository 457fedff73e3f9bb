/* The key of AMI's challenge login: md5hex(challenge + secret). */
#include <ami/login.h>

#include <string.h>

#ifdef AMI_HAVE_OPENSSL
#include <openssl/evp.h>
#endif

int ami_md5_key(const char *challenge, const char *secret, char out[33])
{
    if (!challenge || !secret || !out)
        return AMI_ERR_INVALID;
#ifdef AMI_HAVE_OPENSSL
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    int ok = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return AMI_ERR_NOMEM;
    /* Hash the two parts in turn: no concatenated copy of the secret is
     * left in memory. */
    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, challenge, strlen(challenge)) == 1 &&
        EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 &&
        EVP_DigestFinal_ex(ctx, digest, &digest_len) == 1 && digest_len == 16)
        ok = 1;
    EVP_MD_CTX_free(ctx);
    /* EVP_md5() is unavailable under a FIPS-only provider configuration. */
    if (!ok)
        return AMI_ERR_UNSUPPORTED;
    for (unsigned int i = 0; i < 16; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[32] = '\0';
    return 0;
#else
    out[0] = '\0';
    return AMI_ERR_UNSUPPORTED;
#endif
}
