/*
 * Fuzz target: bearer token verification (jwt_verify in regd/jwt.c).
 * The first byte picks how the rest is used:
 *   even: the rest is the token as a client would send it;
 *   odd:  the rest is "<header JSON>\n<payload JSON>", which the target
 *         signs with its own ES256 key, so the claim checks behind the
 *         signature are reached too.
 * Checked: a token the target did not sign never passes, and a granted
 * set holds only the known action bits.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <err.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "regd.h"
#include "fuzz.h"

struct regd	*env;

static struct auth_conf	 conf;
static EVP_PKEY		*key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (key != NULL)
		return (0);
	if ((key = EVP_EC_gen("P-256")) == NULL)
		errx(1, "cannot make an EC key");
	memset(&conf, 0, sizeof(conf));
	strlcpy(conf.issuer, "fuzz-issuer", sizeof(conf.issuer));
	strlcpy(conf.service, "fuzz-service", sizeof(conf.service));
	conf.token_keys[0] = key;
	conf.ntoken_keys = 1;
	return (0);
}

/* base64url without padding of len bytes, appended at out. */
static size_t
b64url(const unsigned char *in, size_t len, char *out)
{
	size_t	 n, i;

	n = EVP_EncodeBlock((unsigned char *)out, in, len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	out[n] = '\0';
	return (n);
}

/* Sign "<b64 header>.<b64 payload>" with ES256: r || s, 32 bytes each. */
static char *
make_token(const unsigned char *hdr, size_t hlen, const unsigned char *pay,
    size_t plen)
{
	EVP_MD_CTX	*md;
	ECDSA_SIG	*es;
	const BIGNUM	*r, *s;
	unsigned char	 der[128], raw[64];
	const unsigned char *p = der;
	size_t		 dlen = sizeof(der), n;
	char		*tok;

	if ((tok = malloc((hlen + plen) * 2 + 256)) == NULL)
		return (NULL);
	n = b64url(hdr, hlen, tok);
	tok[n++] = '.';
	n += b64url(pay, plen, tok + n);
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto fail;
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &dlen, (unsigned char *)tok, n) != 1) {
		EVP_MD_CTX_free(md);
		goto fail;
	}
	EVP_MD_CTX_free(md);
	if ((es = d2i_ECDSA_SIG(NULL, &p, dlen)) == NULL)
		goto fail;
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, raw, 32);
	BN_bn2binpad(s, raw + 32, 32);
	ECDSA_SIG_free(es);
	tok[n++] = '.';
	b64url(raw, sizeof(raw), tok + n);
	return (tok);
fail:
	free(tok);
	return (NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char	*nl;
	char			*tok, user[64];
	int			 granted, rv, signed_here, catalog;

	LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1 || size > 8192)
		return (0);
	signed_here = data[0] & 1;
	catalog = data[0] & 2;
	data++;
	size--;
	if (signed_here) {
		if ((nl = memchr(data, '\n', size)) == NULL)
			return (0);
		tok = make_token(data, nl - data, nl + 1,
		    size - (nl - data) - 1);
	} else {
		if ((tok = malloc(size + 1)) != NULL) {
			memcpy(tok, data, size);
			tok[size] = '\0';
		}
	}
	if (tok == NULL)
		return (0);
	granted = 0;
	rv = jwt_verify(&conf, tok, catalog ? NULL : "lib/repo",
	    (time_t)1800000000, user, sizeof(user), &granted);
	if (rv == 0 && !signed_here)
		abort();	/* forged: nobody signed it */
	if ((granted & ~AUTH_ALL) != 0)
		abort();
	if (rv == 0 && memchr(user, '\0', sizeof(user)) == NULL)
		abort();
	free(tok);
	return (0);
}
