/*
 * Bearer tokens of a Docker token server: JSON Web Tokens signed with
 * RS256 or ES256, checked against the issuer's keys, the audience, the
 * validity window and the access claims.  Kept apart from the frontend's
 * connection code so the parsing can be fuzzed on its own.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <jansson.h>

#include "regd.h"

#define TOKEN_LEEWAY	30	/* seconds of clock skew */
#define MAX_TOKEN	16384

/*
 * jansson seeds its hash function from /dev/urandom on first use, which
 * the sandbox forbids: give it a seed first.
 */
void
auth_json_seed(void)
{
	static int	 seeded;

	if (!seeded) {
		json_object_seed(arc4random() | 1);
		seeded = 1;
	}
}
int
auth_action_bit(const char *action)
{
	if (strcmp(action, "pull") == 0)
		return (AUTH_PULL);
	if (strcmp(action, "push") == 0)
		return (AUTH_PUSH);
	if (strcmp(action, "delete") == 0)
		return (AUTH_DELETE);
	return (0);
}

/* Standard base64 of inlen bytes (a multiple of 4) into out. */
size_t
auth_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outlen)
{
	int	 n, pad = 0;

	if (inlen == 0 || inlen % 4 != 0 || inlen / 4 * 3 > outlen)
		return ((size_t)-1);
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)in,
	    inlen)) == -1)
		return ((size_t)-1);
	if (in[inlen - 1] == '=')
		pad++;
	if (in[inlen - 2] == '=')
		pad++;
	return (n - pad);
}

static unsigned char *
b64url_decode(const char *in, size_t inlen, size_t *outlen)
{
	char		*s;
	unsigned char	*out;
	size_t		 i, n;

	if (inlen > MAX_TOKEN)
		return (NULL);
	n = (inlen + 3) / 4 * 4;
	if ((s = malloc(n + 1)) == NULL)
		return (NULL);
	for (i = 0; i < inlen; i++) {
		if (in[i] == '-')
			s[i] = '+';
		else if (in[i] == '_')
			s[i] = '/';
		else if (in[i] == '=' || in[i] == '+' || in[i] == '/') {
			free(s);
			return (NULL);
		} else
			s[i] = in[i];
	}
	for (; i < n; i++)
		s[i] = '=';
	s[n] = '\0';
	if ((out = malloc(n / 4 * 3 + 1)) == NULL) {
		free(s);
		return (NULL);
	}
	*outlen = auth_b64_decode(s, n, out, n / 4 * 3);
	free(s);
	if (*outlen == (size_t)-1) {
		free(out);
		return (NULL);
	}
	out[*outlen] = '\0';
	return (out);
}

/* An ES256 signature is r || s; OpenSSL wants it DER-encoded. */
static unsigned char *
es256_der(const unsigned char *sig, size_t len, size_t *derlen)
{
	ECDSA_SIG	*es;
	BIGNUM		*r, *s;
	unsigned char	*der = NULL;
	int		 n;

	if (len != 64 || (es = ECDSA_SIG_new()) == NULL)
		return (NULL);
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return (NULL);
	}
	if ((n = i2d_ECDSA_SIG(es, &der)) <= 0)
		der = NULL;
	else
		*derlen = n;
	ECDSA_SIG_free(es);
	return (der);
}

static int
token_sig_ok(struct auth_conf *a, const char *alg, const char *signed_part,
    size_t signed_len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*md;
	EVP_PKEY	*pk;
	unsigned char	*der = NULL;
	const unsigned char *vs = sig;
	size_t		 vslen = siglen;
	int		 i, ok = 0, want;

	if (strcmp(alg, "RS256") == 0)
		want = EVP_PKEY_RSA;
	else if (strcmp(alg, "ES256") == 0) {
		want = EVP_PKEY_EC;
		if ((der = es256_der(sig, siglen, &vslen)) == NULL)
			return (0);
		vs = der;
	} else
		return (0);
	for (i = 0; i < a->ntoken_keys && !ok; i++) {
		pk = a->token_keys[i];
		if (EVP_PKEY_base_id(pk) != want)
			continue;
		if ((md = EVP_MD_CTX_new()) == NULL)
			break;
		if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
		    pk) == 1 && EVP_DigestVerify(md, vs, vslen,
		    (const unsigned char *)signed_part, signed_len) == 1)
			ok = 1;
		EVP_MD_CTX_free(md);
	}
	OPENSSL_free(der);
	return (ok);
}

static int
aud_ok(json_t *aud, const char *service)
{
	size_t	 i;
	json_t	*v;

	if (json_is_string(aud))
		return (strcmp(json_string_value(aud), service) == 0);
	if (!json_is_array(aud))
		return (0);
	json_array_foreach(aud, i, v)
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), service) == 0)
			return (1);
	return (0);
}

/*
 * The actions a verified token's access claims grant on repo (NULL: the
 * catalog).
 */
static int
jwt_granted(json_t *jp, const char *repo)
{
	const char	*type, *name, *s;
	json_t		*acc, *e, *acts, *v;
	size_t		 i, j;
	int		 granted = 0;

	acc = json_object_get(jp, "access");
	if (!json_is_array(acc))
		return (0);
	json_array_foreach(acc, i, e) {
		type = json_string_value(json_object_get(e, "type"));
		name = json_string_value(json_object_get(e, "name"));
		acts = json_object_get(e, "actions");
		if (type == NULL || name == NULL || !json_is_array(acts))
			continue;
		if (repo == NULL) {
			if (strcmp(type, "registry") != 0 ||
			    strcmp(name, "catalog") != 0)
				continue;
		} else if (strcmp(type, "repository") != 0 ||
		    strcmp(name, repo) != 0)
			continue;
		json_array_foreach(acts, j, v) {
			if ((s = json_string_value(v)) == NULL)
				continue;
			if (strcmp(s, "*") == 0)
				granted |= AUTH_ALL;
			else
				granted |= auth_action_bit(s);
		}
	}
	return (granted);
}

/*
 * Check a bearer token's signature, header and claims: its payload, or
 * NULL if it is not a valid token for this server.
 */
static json_t *
jwt_load(struct auth_conf *a, const char *tok, time_t now)
{
	const char	*d1, *d2, *alg;
	unsigned char	*hdr = NULL, *pay = NULL, *sig = NULL;
	size_t		 hlen, plen, slen;
	json_t		*jh = NULL, *jp = NULL, *v;
	int		 ok = 0;

	tok += strspn(tok, " ");
	if ((d1 = strchr(tok, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
		return (NULL);
	if ((hdr = b64url_decode(tok, d1 - tok, &hlen)) == NULL ||
	    (pay = b64url_decode(d1 + 1, d2 - d1 - 1, &plen)) == NULL ||
	    (sig = b64url_decode(d2 + 1, strcspn(d2 + 1, " "), &slen)) ==
	    NULL)
		goto done;
	auth_json_seed();
	if ((jh = json_loadb((char *)hdr, hlen, 0, NULL)) == NULL ||
	    (jp = json_loadb((char *)pay, plen, 0, NULL)) == NULL)
		goto done;
	/* "none" and every algorithm but these two are refused. */
	if ((alg = json_string_value(json_object_get(jh, "alg"))) == NULL ||
	    (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0))
		goto done;
	/* No extension is understood: a critical one is refused (RFC 7515). */
	if (json_object_get(jh, "crit") != NULL)
		goto done;
	if (!token_sig_ok(a, alg, tok, d2 - tok, sig, slen))
		goto done;
	if ((v = json_object_get(jp, "iss")) == NULL ||
	    !json_is_string(v) || strcmp(json_string_value(v), a->issuer) != 0)
		goto done;
	if (!aud_ok(json_object_get(jp, "aud"), a->service))
		goto done;
	/* NumericDate may have a fraction. */
	if (!json_is_number(v = json_object_get(jp, "exp")) ||
	    json_number_value(v) + TOKEN_LEEWAY < now)
		goto done;
	if ((v = json_object_get(jp, "nbf")) != NULL &&
	    (!json_is_number(v) || json_number_value(v) > now +
	    TOKEN_LEEWAY))
		goto done;
	ok = 1;
done:
	json_decref(jh);
	if (!ok) {
		json_decref(jp);
		jp = NULL;
	}
	free(hdr);
	free(pay);
	free(sig);
	return (jp);
}

/*
 * Verify a bearer token: 0 with the subject in user and the granted
 * actions for repo (or the catalog when repo is NULL) in *granted, -1 if
 * it is not a valid token for this server.
 */
int
jwt_verify(struct auth_conf *a, const char *tok, const char *repo,
    time_t now, char *user, size_t ulen, int *granted)
{
	const char	*sub;
	json_t		*jp;

	*granted = 0;
	if ((jp = jwt_load(a, tok, now)) == NULL)
		return (-1);
	sub = json_string_value(json_object_get(jp, "sub"));
	strlcpy(user, sub != NULL && sub[0] != '\0' ? sub : "token", ulen);
	*granted = jwt_granted(jp, repo);
	json_decref(jp);
	return (0);
}

/*
 * The first of n repositories on which a valid token grants act, with
 * the token checked once: its index, or -1.
 */
int
jwt_pick(struct auth_conf *a, const char *tok, time_t now, int act,
    char *const *repos, size_t n)
{
	json_t	*jp;
	size_t	 i;
	int	 found = -1;

	if ((jp = jwt_load(a, tok, now)) == NULL)
		return (-1);
	for (i = 0; i < n && found == -1; i++)
		if ((jwt_granted(jp, repos[i]) & act) == act)
			found = i;
	json_decref(jp);
	return (found);
}
