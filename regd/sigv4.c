/*
 * AWS Signature Version 4 (AWS4-HMAC-SHA256) as S3 wants it: the path is
 * encoded once and never normalised, the query is encoded and sorted, the
 * headers are lower-cased, trimmed, joined and sorted.  Everything is built
 * in bounded buffers on the stack or the caller's; nothing is kept between
 * calls.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "sigv4.h"

#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_ENTRIES	(SIGV4_MAX_HEADERS + SIGV4_MAX_QUERY + 8)

/* A string being built in a fixed buffer; err is set once it overflowed. */
struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

/* A header or a query parameter, after encoding or trimming. */
struct entry {
	const char	*name;
	const char	*value;
	size_t		 order;
};

static void	sb_init(struct sbuf *, char *, size_t);
static void	sb_addn(struct sbuf *, const char *, size_t);
static void	sb_add(struct sbuf *, const char *);
static void	sb_enc(struct sbuf *, const char *, int);
static const char *sb_save(struct sbuf *, struct sbuf *);
static int	entry_cmp(const void *, const void *);
static int	query_cmp(const void *, const void *);
static int	header_ok(const char *, const char *);
static void	header_value(struct sbuf *, const char *);
static int	canon_query(struct sbuf *, struct sbuf *,
		    const struct sigv4_pair *, size_t,
		    const struct sigv4_pair *, size_t);
static int	canon_headers(struct sbuf *, struct sbuf *, struct sbuf *,
		    const struct sigv4_pair *, size_t,
		    const struct sigv4_pair *, size_t);
static int	canon(const struct sigv4_req *, const struct sigv4_pair *,
		    size_t, const struct sigv4_pair *, size_t, const char *,
		    char *, size_t, char *, size_t);
static int	amz_date(time_t, char *);
static int	scope(const struct sigv4_cred *, const char *, char *, size_t);
static int	signature(const struct sigv4_cred *, const char *,
		    const char *, char *);
static int	cred_ok(const struct sigv4_cred *);
static void	hex(const unsigned char *, size_t, char *);

static void
sb_init(struct sbuf *sb, char *p, size_t cap)
{
	sb->p = p;
	sb->len = 0;
	sb->cap = cap;
	sb->err = (cap == 0);
	if (cap > 0)
		p[0] = '\0';
}

static void
sb_addn(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->err || n >= sb->cap - sb->len) {
		sb->err = 1;
		return;
	}
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

static void
sb_add(struct sbuf *sb, const char *s)
{
	sb_addn(sb, s, strlen(s));
}

/* Percent-encode all but the unreserved characters (and '/' if asked). */
static void
sb_enc(struct sbuf *sb, const char *s, int keep_slash)
{
	static const char	 xd[] = "0123456789ABCDEF";
	const unsigned char	*u;
	char			 e[3];

	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		if (isalnum(*u) || *u == '-' || *u == '.' || *u == '_' ||
		    *u == '~' || (*u == '/' && keep_slash)) {
			sb_addn(sb, (const char *)u, 1);
			continue;
		}
		e[0] = '%';
		e[1] = xd[*u >> 4];
		e[2] = xd[*u & 0xf];
		sb_addn(sb, e, 3);
	}
}

/*
 * Move what sb holds into the arena as a NUL-terminated string and empty
 * sb; NULL if the arena is full.
 */
static const char *
sb_save(struct sbuf *arena, struct sbuf *sb)
{
	const char	*s;

	if (sb->err)
		return (NULL);
	s = arena->p + arena->len;
	sb_addn(arena, sb->p, sb->len);
	sb_addn(arena, "", 1);
	if (arena->err)
		return (NULL);
	arena->len++;	/* keep the NUL */
	sb->len = 0;
	sb->p[0] = '\0';
	return (s);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return (c);
	if (x->order != y->order)
		return (x->order < y->order ? -1 : 1);
	return (0);
}

/* Parameters are sorted by encoded name, then by encoded value. */
static int
query_cmp(const void *a, const void *b)
{
	const struct entry	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return (c);
	return (strcmp(x->value, y->value));
}

/* A header name is a token; a value holds no control character but tab. */
static int
header_ok(const char *name, const char *value)
{
	const unsigned char	*u;

	if (name == NULL || name[0] == '\0')
		return (0);
	for (u = (const unsigned char *)name; *u != '\0'; u++)
		if (*u <= ' ' || *u >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}",
		    *u) != NULL)
			return (0);
	if (value == NULL)
		return (1);
	for (u = (const unsigned char *)value; *u != '\0'; u++)
		if ((*u < ' ' && *u != '\t') || *u == 0x7f)
			return (0);
	return (1);
}

/* The value trimmed, with every run of blanks inside made one space. */
static void
header_value(struct sbuf *sb, const char *v)
{
	int	 blank = 0;

	if (v == NULL)
		return;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t') {
			blank = 1;
			continue;
		}
		if (blank)
			sb_addn(sb, " ", 1);
		blank = 0;
		sb_addn(sb, v, 1);
	}
}

/* The canonical query string of q and then xq, into out. */
static int
canon_query(struct sbuf *out, struct sbuf *arena,
    const struct sigv4_pair *q, size_t nq, const struct sigv4_pair *xq,
    size_t nxq)
{
	struct entry		 e[MAX_ENTRIES];
	const struct sigv4_pair	*p;
	struct sbuf		 tmp;
	char			 tbuf[SIGV4_MAX_CANON];
	size_t			 i, n = nq + nxq;

	if (nq > SIGV4_MAX_QUERY || n > MAX_ENTRIES)
		return (-1);
	sb_init(&tmp, tbuf, sizeof(tbuf));
	for (i = 0; i < n; i++) {
		p = i < nq ? &q[i] : &xq[i - nq];
		if (p->name == NULL || p->name[0] == '\0')
			return (-1);
		sb_enc(&tmp, p->name, 0);
		if ((e[i].name = sb_save(arena, &tmp)) == NULL)
			return (-1);
		sb_enc(&tmp, p->value != NULL ? p->value : "", 0);
		if ((e[i].value = sb_save(arena, &tmp)) == NULL)
			return (-1);
		e[i].order = i;
	}
	qsort(e, n, sizeof(e[0]), query_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			sb_add(out, "&");
		sb_add(out, e[i].name);
		sb_add(out, "=");
		sb_add(out, e[i].value);
	}
	return (out->err ? -1 : 0);
}

/*
 * The canonical headers of h and then xh into out (each line ending in a
 * newline) and their names, joined by ';', into sh.
 */
static int
canon_headers(struct sbuf *out, struct sbuf *sh, struct sbuf *arena,
    const struct sigv4_pair *h, size_t nh, const struct sigv4_pair *xh,
    size_t nxh)
{
	struct entry		 e[MAX_ENTRIES];
	const struct sigv4_pair	*p;
	struct sbuf		 tmp;
	char			 tbuf[SIGV4_MAX_CANON];
	const char		*c;
	size_t			 i, n = nh + nxh;
	char			 lc;

	if (nh > SIGV4_MAX_HEADERS || n > MAX_ENTRIES || n == 0)
		return (-1);
	sb_init(&tmp, tbuf, sizeof(tbuf));
	for (i = 0; i < n; i++) {
		p = i < nh ? &h[i] : &xh[i - nh];
		if (!header_ok(p->name, p->value))
			return (-1);
		for (c = p->name; *c != '\0'; c++) {
			lc = tolower((unsigned char)*c);
			sb_addn(&tmp, &lc, 1);
		}
		if ((e[i].name = sb_save(arena, &tmp)) == NULL)
			return (-1);
		header_value(&tmp, p->value);
		if ((e[i].value = sb_save(arena, &tmp)) == NULL)
			return (-1);
		e[i].order = i;
	}
	qsort(e, n, sizeof(e[0]), entry_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(e[i - 1].name, e[i].name) == 0) {
			sb_add(out, ",");
			sb_add(out, e[i].value);
			continue;
		}
		if (i > 0) {
			sb_add(out, "\n");
			sb_add(sh, ";");
		}
		sb_add(out, e[i].name);
		sb_add(out, ":");
		sb_add(out, e[i].value);
		sb_add(sh, e[i].name);
	}
	sb_add(out, "\n");
	return (out->err || sh->err ? -1 : 0);
}

/*
 * The canonical request of req with the extra query parameters xq and
 * headers xh the signer adds, into out; the signed header list into sh.
 */
static int
canon(const struct sigv4_req *req, const struct sigv4_pair *xq, size_t nxq,
    const struct sigv4_pair *xh, size_t nxh, const char *payload, char *out,
    size_t outsz, char *sh, size_t shsz)
{
	struct sbuf	 o, s, arena;
	char		 abuf[SIGV4_MAX_CANON];

	if (req->method == NULL || req->method[0] == '\0' ||
	    req->path == NULL || (req->nquery > 0 && req->query == NULL) ||
	    (req->nheaders > 0 && req->headers == NULL))
		return (-1);
	sb_init(&o, out, outsz);
	sb_init(&s, sh, shsz);
	sb_init(&arena, abuf, sizeof(abuf));
	sb_add(&o, req->method);
	sb_add(&o, "\n");
	if (req->path[0] != '/')
		sb_add(&o, "/");
	sb_enc(&o, req->path, 1);
	sb_add(&o, "\n");
	if (canon_query(&o, &arena, req->query, req->nquery, xq, nxq) == -1)
		return (-1);
	sb_add(&o, "\n");
	if (canon_headers(&o, &s, &arena, req->headers, req->nheaders,
	    xh, nxh) == -1)
		return (-1);
	sb_add(&o, "\n");
	sb_add(&o, s.p);
	sb_add(&o, "\n");
	sb_add(&o, payload);
	return (o.err ? -1 : 0);
}

static int
amz_date(time_t when, char *out)
{
	struct tm	 tm;

	if (gmtime_r(&when, &tm) == NULL)
		return (-1);
	if (strftime(out, SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) !=
	    SIGV4_DATE_LEN)
		return (-1);
	return (0);
}

/* 20130524/us-east-1/s3/aws4_request */
static int
scope(const struct sigv4_cred *cred, const char *date, char *out,
    size_t outsz)
{
	int	 n;

	n = snprintf(out, outsz, "%.8s/%s/%s/aws4_request", date,
	    cred->region, cred->service);
	if (n < 0 || (size_t)n >= outsz)
		return (-1);
	return (0);
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char	 xd[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = xd[p[i] >> 4];
		out[2 * i + 1] = xd[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

void
sigv4_sha256_hex(const void *p, size_t n, char *out)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	SHA256(p, n, md);
	hex(md, sizeof(md), out);
}

/* The signing key of the day, then the signature of sts, in hex. */
static int
signature(const struct sigv4_cred *cred, const char *date, const char *sts,
    char *out)
{
	unsigned char	 k1[EVP_MAX_MD_SIZE], k2[EVP_MAX_MD_SIZE];
	unsigned char	 sig[EVP_MAX_MD_SIZE];
	char		 secret[256];
	unsigned int	 klen = 0, slen = 0;
	int		 n, rc = -1;

	n = snprintf(secret, sizeof(secret), "AWS4%s", cred->secret_key);
	if (n < 0 || (size_t)n >= sizeof(secret))
		goto done;
	if (HMAC(EVP_sha256(), secret, n, (const unsigned char *)date, 8,
	    k1, &klen) == NULL ||
	    HMAC(EVP_sha256(), k1, klen, (const unsigned char *)cred->region,
	    strlen(cred->region), k2, &klen) == NULL ||
	    HMAC(EVP_sha256(), k2, klen, (const unsigned char *)cred->service,
	    strlen(cred->service), k1, &klen) == NULL ||
	    HMAC(EVP_sha256(), k1, klen, (const unsigned char *)"aws4_request",
	    12, k2, &klen) == NULL ||
	    HMAC(EVP_sha256(), k2, klen, (const unsigned char *)sts,
	    strlen(sts), sig, &slen) == NULL || slen != SHA256_DIGEST_LENGTH)
		goto done;
	hex(sig, slen, out);
	rc = 0;
 done:
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
	return (rc);
}

static int
cred_ok(const struct sigv4_cred *cred)
{
	const char	*s[4];
	size_t		 i;

	s[0] = cred->access_key;
	s[1] = cred->secret_key;
	s[2] = cred->region;
	s[3] = cred->service;
	/* Only the secret may hold a '/': the others make up the scope. */
	for (i = 0; i < 4; i++)
		if (s[i] == NULL || s[i][0] == '\0' || strlen(s[i]) > 128 ||
		    strpbrk(s[i], i == 1 ? "\r\n" : "/\r\n") != NULL)
			return (0);
	return (1);
}

/* "the URI-encoding of in, '/' kept if keep_slash, into out" */
int
sigv4_uri_encode(const char *in, int keep_slash, char *out, size_t outsz)
{
	struct sbuf	 sb;

	sb_init(&sb, out, outsz);
	sb_enc(&sb, in, keep_slash);
	return (sb.err ? -1 : 0);
}

int
sigv4_string_to_sign(const struct sigv4_cred *cred, const char *date,
    const char *creq, char *out, size_t outsz)
{
	char	 sc[512], h[SIGV4_HEX_LEN + 1];
	int	 n;

	if (!cred_ok(cred) || strlen(date) != SIGV4_DATE_LEN ||
	    scope(cred, date, sc, sizeof(sc)) == -1)
		return (-1);
	sigv4_sha256_hex(creq, strlen(creq), h);
	n = snprintf(out, outsz, "%s\n%s\n%s\n%s", SIGV4_ALGORITHM, date, sc,
	    h);
	if (n < 0 || (size_t)n >= outsz)
		return (-1);
	return (0);
}

/*
 * The headers sigv4_sign() adds to those of the request: x-amz-date, and
 * x-amz-content-sha256 for S3, and the session token.
 */
static size_t
sign_extras(const struct sigv4_cred *cred, const struct sigv4_signed *out,
    struct sigv4_pair *xh)
{
	size_t	 n = 0;

	if (strcmp(cred->service, "s3") == 0) {
		xh[n].name = "x-amz-content-sha256";
		xh[n++].value = out->content_sha256;
	}
	xh[n].name = "x-amz-date";
	xh[n++].value = out->amz_date;
	if (cred->token != NULL) {
		xh[n].name = "x-amz-security-token";
		xh[n++].value = cred->token;
	}
	return (n);
}

int
sigv4_canonical_request(const struct sigv4_cred *cred,
    const struct sigv4_req *req, char *out, size_t outsz)
{
	struct sigv4_signed	 s;
	struct sigv4_pair	 xh[3];
	const char		*payload;
	char			 sh[SIGV4_MAX_AUTH];
	size_t			 nxh;

	if (!cred_ok(cred) || amz_date(req->when, s.amz_date) == -1)
		return (-1);
	payload = req->payload != NULL ? req->payload : EMPTY_SHA256;
	if (strlcpy(s.content_sha256, payload, sizeof(s.content_sha256)) >=
	    sizeof(s.content_sha256))
		return (-1);
	nxh = sign_extras(cred, &s, xh);
	return (canon(req, NULL, 0, xh, nxh, payload, out, outsz, sh,
	    sizeof(sh)));
}

/* Sign req for an Authorization header; out holds all that is to send. */
int
sigv4_sign(const struct sigv4_cred *cred, const struct sigv4_req *req,
    struct sigv4_signed *out)
{
	struct sigv4_pair	 xh[3];
	const char		*payload;
	char			 creq[SIGV4_MAX_CANON], sts[1024];
	char			 sh[SIGV4_MAX_AUTH], sc[512];
	size_t			 nxh;
	int			 n;

	memset(out, 0, sizeof(*out));
	if (!cred_ok(cred) || amz_date(req->when, out->amz_date) == -1)
		return (-1);
	payload = req->payload != NULL ? req->payload : EMPTY_SHA256;
	if (strlcpy(out->content_sha256, payload,
	    sizeof(out->content_sha256)) >= sizeof(out->content_sha256))
		return (-1);
	nxh = sign_extras(cred, out, xh);
	if (canon(req, NULL, 0, xh, nxh, payload, creq, sizeof(creq), sh,
	    sizeof(sh)) == -1)
		return (-1);
	if (sigv4_string_to_sign(cred, out->amz_date, creq, sts,
	    sizeof(sts)) == -1 ||
	    signature(cred, out->amz_date, sts, out->signature) == -1 ||
	    scope(cred, out->amz_date, sc, sizeof(sc)) == -1)
		return (-1);
	n = snprintf(out->authorization, sizeof(out->authorization),
	    "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
	    SIGV4_ALGORITHM, cred->access_key, sc, sh, out->signature);
	if (n < 0 || (size_t)n >= sizeof(out->authorization))
		return (-1);
	return (0);
}

/*
 * The query string of a presigned URL for req, valid for expires seconds
 * from req->when: req's own parameters and the X-Amz-* ones, encoded and
 * sorted, X-Amz-Signature last.  The body is not signed.
 */
int
sigv4_presign(const struct sigv4_cred *cred, const struct sigv4_req *req,
    unsigned int expires, char *out, size_t outsz)
{
	struct sigv4_pair	 xq[6];
	struct sbuf		 o, arena;
	char			 creq[SIGV4_MAX_CANON], sts[1024];
	char			 sh[SIGV4_MAX_AUTH], sh2[SIGV4_MAX_AUTH];
	char			 date[SIGV4_DATE_LEN + 1], sc[512], cr[700];
	char			 exp[16], sig[SIGV4_HEX_LEN + 1];
	char			 abuf[SIGV4_MAX_CANON];
	size_t			 nxq = 0;
	int			 n;

	if (!cred_ok(cred) || expires == 0 || expires > SIGV4_MAX_EXPIRES ||
	    amz_date(req->when, date) == -1 ||
	    scope(cred, date, sc, sizeof(sc)) == -1)
		return (-1);
	n = snprintf(cr, sizeof(cr), "%s/%s", cred->access_key, sc);
	if (n < 0 || (size_t)n >= sizeof(cr))
		return (-1);
	(void)snprintf(exp, sizeof(exp), "%u", expires);
	/* The signed header names go into the query before signing. */
	if (canon(req, NULL, 0, NULL, 0, SIGV4_UNSIGNED, creq, sizeof(creq),
	    sh, sizeof(sh)) == -1)
		return (-1);
	xq[nxq].name = "X-Amz-Algorithm";
	xq[nxq++].value = SIGV4_ALGORITHM;
	xq[nxq].name = "X-Amz-Credential";
	xq[nxq++].value = cr;
	xq[nxq].name = "X-Amz-Date";
	xq[nxq++].value = date;
	xq[nxq].name = "X-Amz-Expires";
	xq[nxq++].value = exp;
	xq[nxq].name = "X-Amz-SignedHeaders";
	xq[nxq++].value = sh;
	if (cred->token != NULL) {
		xq[nxq].name = "X-Amz-Security-Token";
		xq[nxq++].value = cred->token;
	}
	if (canon(req, xq, nxq, NULL, 0, SIGV4_UNSIGNED, creq, sizeof(creq),
	    sh2, sizeof(sh2)) == -1 ||
	    sigv4_string_to_sign(cred, date, creq, sts, sizeof(sts)) == -1 ||
	    signature(cred, date, sts, sig) == -1)
		return (-1);
	sb_init(&o, out, outsz);
	sb_init(&arena, abuf, sizeof(abuf));
	if (canon_query(&o, &arena, req->query, req->nquery, xq, nxq) == -1)
		return (-1);
	sb_add(&o, "&X-Amz-Signature=");
	sb_add(&o, sig);
	return (o.err ? -1 : 0);
}
