/*
 * Storage: digests.  Which ones are stored, and computing them.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "regd.h"
#include "store.h"

int
store_digest_ok(const char *d)
{
	const char	*p;
	size_t		 hexlen;

	if (d == NULL || !valid_digest(d))
		return (0);
	if (strncmp(d, "sha256:", 7) == 0)
		hexlen = 64;
	else if (strncmp(d, "sha512:", 7) == 0)
		hexlen = 128;
	else
		return (0);
	for (p = d + 7; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return (0);
	return ((size_t)(p - (d + 7)) == hexlen);
}

/* Split a checked digest into "sha256" and the hex part. */
void
digest_split(const char *d, char *alg, size_t alglen, const char **hex)
{
	const char	*colon;
	size_t		 n;

	colon = strchr(d, ':');
	n = colon - d;
	if (n >= alglen)
		n = alglen - 1;
	memcpy(alg, d, n);
	alg[n] = '\0';
	*hex = colon + 1;
}

void
digest_hex(const unsigned char *md, unsigned int len, char *out)
{
	static const char	 hx[] = "0123456789abcdef";
	unsigned int		 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 0xf];
	}
	out[2 * len] = '\0';
}

const EVP_MD *
digest_md(const char *digest)
{
	if (strncmp(digest, "sha512:", 7) == 0)
		return (EVP_sha512());
	return (EVP_sha256());
}

/* Finish a context into "alg:hex"; ctx itself is not consumed. */
int
digest_final(EVP_MD_CTX *ctx, const char *alg, char *out, size_t outlen)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int	 mdlen;
	EVP_MD_CTX	*tmp;
	int		 n, rv = -1;

	if ((tmp = EVP_MD_CTX_new()) == NULL)
		return (-1);
	if (EVP_MD_CTX_copy_ex(tmp, ctx) == 1 &&
	    EVP_DigestFinal_ex(tmp, md, &mdlen) == 1) {
		digest_hex(md, mdlen, hex);
		n = snprintf(out, outlen, "%s:%s", alg, hex);
		if (n >= 0 && (size_t)n < outlen)
			rv = 0;
	}
	EVP_MD_CTX_free(tmp);
	return (rv);
}

int
store_digest_buf(const char *alg, const void *buf, size_t len, char *out,
    size_t outlen)
{
	EVP_MD_CTX	*ctx;
	int		 rv = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (-1);
	if (EVP_DigestInit_ex(ctx, strcmp(alg, "sha512") == 0 ?
	    EVP_sha512() : EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, buf, len) == 1)
		rv = digest_final(ctx, alg, out, outlen);
	EVP_MD_CTX_free(ctx);
	return (rv);
}
