/*
 * The XML of S3's answers, read by a small strict parser: elements,
 * attributes (read and ignored), text in leaf elements only, the five
 * named entities and numeric references, an optional <?xml ...?> prolog.
 * Anything else (comments, CDATA, DOCTYPE, mixed content, bad UTF-8,
 * control characters, unbalanced tags, names or text over the limits) is
 * refused.  A document is walked twice: the first walk only checks it, so
 * the caller's callbacks never see a document that turns out malformed.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3.h"

#define XML_STOPPED	-3	/* a callback of the caller's said stop */
#define MAX_ATTRS	8
#define MAX_PROLOG	256

enum xev {
	XE_START,
	XE_LEAF,
	XE_END
};

struct xp;
typedef int	(*xp_fn)(void *, const struct xp *, enum xev);

struct xp {
	const char	*p;
	const char	*end;
	int		 depth;
	char		 names[S3XML_MAX_DEPTH][S3XML_MAX_NAME + 1];
	int		 child[S3XML_MAX_DEPTH];
	int		 nonblank;
	char		 text[S3XML_MAX_TEXT + 1];
	size_t		 tlen;
	xp_fn		 fn;
	void		*arg;
};

static int	xp_utf8(struct xp *, char *, size_t *, size_t);
static int	xp_entity(struct xp *, char *, size_t *, size_t);
static int	xp_chars(struct xp *, char, char *, size_t *, size_t);
static int	xp_name(struct xp *, char *);
static int	xp_attrs(struct xp *, int *);
static int	xp_start(struct xp *);
static int	xp_end(struct xp *);
static int	xp_text(struct xp *);
static int	xp_walk(const char *, size_t, xp_fn, void *);
static int	at(const struct xp *, int, ...);
static int	copy(char *, size_t, const struct xp *);
static int	parse_off(const struct xp *, off_t *);
static int	parse_etag(char *, size_t, const struct xp *);
static int	walk2(const char *, size_t, xp_fn, void *, int *);

static int
is_blank(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

static void
skip_blank(struct xp *x)
{
	while (x->p < x->end && is_blank((unsigned char)*x->p))
		x->p++;
}

/* One UTF-8 sequence at x->p, checked (no overlong, no surrogate). */
static int
xp_utf8(struct xp *x, char *out, size_t *len, size_t max)
{
	const unsigned char	*u = (const unsigned char *)x->p;
	size_t			 n, i;
	uint32_t		 cp;

	if (u[0] < 0x80)
		n = 1, cp = u[0];
	else if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2, cp = u[0] & 0x1f;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3, cp = u[0] & 0x0f;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4, cp = u[0] & 0x07;
	else
		return (-1);
	if ((size_t)(x->end - x->p) < n)
		return (-1);
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return (-1);
		cp = (cp << 6) | (u[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp == 0xfffe || cp == 0xffff)
		return (-1);
	if (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r')
		return (-1);
	if (*len + n > max)
		return (-1);
	memcpy(out + *len, x->p, n);
	*len += n;
	x->p += n;
	return (0);
}

/* &amp; &lt; &gt; &quot; &apos; &#N; &#xH; as UTF-8 into out. */
static int
xp_entity(struct xp *x, char *out, size_t *len, size_t max)
{
	static const struct {
		const char	*name;
		char		 c;
	} named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' },
		{ "quot", '"' }, { "apos", '\'' }
	};
	const char	*semi, *s;
	char		 ent[12];
	unsigned long	 cp = 0;
	size_t		 n, i;
	int		 base = 10, d;

	x->p++;				/* '&' */
	for (semi = x->p; semi < x->end && semi - x->p < 10 && *semi != ';';
	    semi++)
		;
	if (semi >= x->end || *semi != ';' || semi == x->p)
		return (-1);
	n = semi - x->p;
	memcpy(ent, x->p, n);
	ent[n] = '\0';
	x->p = semi + 1;
	if (ent[0] != '#') {
		for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
			if (strcmp(ent, named[i].name) == 0)
				break;
		if (i == sizeof(named) / sizeof(named[0]) || *len + 1 > max)
			return (-1);
		out[(*len)++] = named[i].c;
		return (0);
	}
	s = ent + 1;
	if (*s == 'x') {
		base = 16;
		s++;
	}
	if (*s == '\0')
		return (-1);
	for (; *s != '\0'; s++) {
		if (base == 16 && isxdigit((unsigned char)*s))
			d = isdigit((unsigned char)*s) ? *s - '0' :
			    tolower((unsigned char)*s) - 'a' + 10;
		else if (base == 10 && isdigit((unsigned char)*s))
			d = *s - '0';
		else
			return (-1);
		cp = cp * base + d;
		if (cp > 0x10ffff)
			return (-1);
	}
	/* XML's Char production. */
	if (!(cp == 0x9 || cp == 0xa || cp == 0xd ||
	    (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
	    (cp >= 0x10000 && cp <= 0x10ffff)))
		return (-1);
	n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	if (*len + n > max)
		return (-1);
	if (n == 1)
		out[(*len)++] = cp;
	else {
		out[*len] = (n == 2 ? 0xc0 : n == 3 ? 0xe0 : 0xf0) |
		    (cp >> (6 * (n - 1)));
		for (i = 1; i < n; i++)
			out[*len + i] = 0x80 | ((cp >> (6 * (n - 1 - i))) &
			    0x3f);
		*len += n;
	}
	return (0);
}

/* Character data up to '<' (text) or the quote (an attribute value). */
static int
xp_chars(struct xp *x, char stop, char *out, size_t *len, size_t max)
{
	while (x->p < x->end && *x->p != stop) {
		if (*x->p == '<')
			return (-1);
		if (*x->p == '&') {
			if (xp_entity(x, out, len, max) == -1)
				return (-1);
		} else if (xp_utf8(x, out, len, max) == -1)
			return (-1);
	}
	out[*len] = '\0';
	return (x->p < x->end ? 0 : -1);
}

static int
xp_name(struct xp *x, char *out)
{
	size_t	 n = 0;
	int	 c;

	while (x->p < x->end) {
		c = (unsigned char)*x->p;
		if (!(isalpha(c) || c == '_' || c == ':' ||
		    (n > 0 && (isdigit(c) || c == '-' || c == '.'))))
			break;
		if (n == S3XML_MAX_NAME)
			return (-1);
		out[n++] = c;
		x->p++;
	}
	out[n] = '\0';
	return (n > 0 ? 0 : -1);
}

/* Attributes up to '>' or "/>"; *empty tells which. */
static int
xp_attrs(struct xp *x, int *empty)
{
	char	 name[S3XML_MAX_NAME + 1], q;
	size_t	 len;
	int	 n = 0, blank;

	for (;;) {
		blank = x->p < x->end && is_blank((unsigned char)*x->p);
		skip_blank(x);
		if (x->p >= x->end)
			return (-1);
		if (*x->p == '>' || *x->p == '/') {
			*empty = *x->p == '/';
			x->p += *empty ? 2 : 1;
			return (x->p <= x->end && (!*empty ||
			    x->p[-1] == '>') ? 0 : -1);
		}
		if (!blank || ++n > MAX_ATTRS || xp_name(x, name) == -1)
			return (-1);
		skip_blank(x);
		if (x->p >= x->end || *x->p++ != '=')
			return (-1);
		skip_blank(x);
		if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
			return (-1);
		q = *x->p++;
		len = 0;
		if (xp_chars(x, q, x->text, &len, S3XML_MAX_TEXT) == -1)
			return (-1);
		x->p++;			/* the closing quote */
	}
}

static int
xp_start(struct xp *x)
{
	int	 d, empty, rc;

	if (x->depth > 0 && x->nonblank)
		return (-1);		/* mixed content */
	if (x->depth == S3XML_MAX_DEPTH)
		return (-1);
	if (x->depth > 0)
		x->child[x->depth - 1] = 1;
	d = x->depth++;
	x->child[d] = 0;
	x->tlen = 0;
	x->text[0] = '\0';
	x->nonblank = 0;
	if (xp_name(x, x->names[d]) == -1 || xp_attrs(x, &empty) == -1)
		return (-1);
	if ((rc = x->fn(x->arg, x, XE_START)) != 0)
		return (rc);
	if (!empty)
		return (0);
	if ((rc = x->fn(x->arg, x, XE_LEAF)) != 0 ||
	    (rc = x->fn(x->arg, x, XE_END)) != 0)
		return (rc);
	x->depth--;
	return (0);
}

static int
xp_end(struct xp *x)
{
	char	 name[S3XML_MAX_NAME + 1];
	int	 rc;

	if (x->depth == 0 || xp_name(x, name) == -1 ||
	    strcmp(name, x->names[x->depth - 1]) != 0)
		return (-1);
	skip_blank(x);
	if (x->p >= x->end || *x->p++ != '>')
		return (-1);
	if (!x->child[x->depth - 1] &&
	    (rc = x->fn(x->arg, x, XE_LEAF)) != 0)
		return (rc);
	if ((rc = x->fn(x->arg, x, XE_END)) != 0)
		return (rc);
	x->depth--;
	x->tlen = 0;
	x->text[0] = '\0';
	x->nonblank = 0;
	return (0);
}

static int
xp_text(struct xp *x)
{
	size_t	 i, from = x->tlen;

	if (x->depth == 0 || xp_chars(x, '<', x->text, &x->tlen,
	    S3XML_MAX_TEXT) == -1)
		return (-1);
	for (i = from; i < x->tlen; i++)
		if (!is_blank((unsigned char)x->text[i]))
			x->nonblank = 1;
	/* Text after a child element must be blank too. */
	if (x->nonblank && x->child[x->depth - 1])
		return (-1);
	return (0);
}

static int
xp_walk(const char *buf, size_t len, xp_fn fn, void *arg)
{
	struct xp	*x;
	const char	*q;
	int		 rc = -1, root = 0;

	if (len > S3_XML_MAX || memchr(buf, '\0', len) != NULL)
		return (-1);
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return (-1);
	x->p = buf;
	x->end = buf + len;
	x->fn = fn;
	x->arg = arg;
	if (len >= 5 && memcmp(buf, "<?xml", 5) == 0) {
		for (q = buf + 5; q + 1 < x->end && q - buf < MAX_PROLOG &&
		    !(q[0] == '?' && q[1] == '>'); q++)
			if ((unsigned char)*q < ' ' && !is_blank(*q))
				goto done;
		if (q + 1 >= x->end || q[0] != '?')
			goto done;
		x->p = q + 2;
	}
	for (;;) {
		if (x->depth == 0) {
			skip_blank(x);
			if (x->p == x->end) {
				rc = root ? 0 : -1;
				break;
			}
			if (root || *x->p != '<')
				break;
		}
		if (x->p >= x->end)
			break;
		if (*x->p != '<')
			rc = xp_text(x);
		else if (++x->p < x->end && *x->p == '/') {
			x->p++;
			rc = xp_end(x);
		} else {
			root = 1;
			rc = xp_start(x);
		}
		if (rc != 0)
			break;
		rc = -1;
	}
 done:
	explicit_bzero(x, sizeof(*x));
	free(x);
	return (rc);
}

/* The element at depth d is named by the arguments, from the root. */
static int
at(const struct xp *x, int d, ...)
{
	va_list		 ap;
	const char	*n;
	int		 i;

	if (x->depth != d)
		return (0);
	va_start(ap, d);
	for (i = 0; i < d; i++) {
		n = va_arg(ap, const char *);
		if (strcmp(n, x->names[i]) != 0)
			break;
	}
	va_end(ap);
	return (i == d);
}

static int
copy(char *out, size_t sz, const struct xp *x)
{
	if (x->tlen >= sz)
		return (-1);
	memcpy(out, x->text, x->tlen + 1);
	return (0);
}

static int
parse_off(const struct xp *x, off_t *out)
{
	const char	*errstr;
	long long	 v;

	if (x->tlen == 0 || !isdigit((unsigned char)x->text[0]))
		return (-1);
	v = strtonum(x->text, 0, LLONG_MAX / 2, &errstr);
	if (errstr != NULL)
		return (-1);
	*out = v;
	return (0);
}

/* An ETag without its quotes (S3 sends "hex" or "hex-N"). */
static int
parse_etag(char *out, size_t sz, const struct xp *x)
{
	const char	*s = x->text;
	size_t		 n = x->tlen;

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	if (n >= sz || memchr(s, '"', n) != NULL)
		return (-1);
	memcpy(out, s, n);
	out[n] = '\0';
	return (0);
}

/* 2009-10-12T17:50:30.000Z (the fraction optional). */
int
s3xml_time(const char *s, time_t *out)
{
	struct tm	 tm;
	int		 v[6], i, j;
	static const int width[6] = { 4, 2, 2, 2, 2, 2 };
	static const char sep[6] = "--T::";
	time_t		 t;

	for (i = 0; i < 6; i++) {
		v[i] = 0;
		for (j = 0; j < width[i]; j++, s++) {
			if (!isdigit((unsigned char)*s))
				return (-1);
			v[i] = v[i] * 10 + (*s - '0');
		}
		if (i < 5 && *s++ != sep[i])
			return (-1);
	}
	if (*s == '.') {
		for (s++, j = 0; isdigit((unsigned char)*s); s++)
			if (++j > 9)
				return (-1);
		if (j == 0)
			return (-1);
	}
	if (strcmp(s, "Z") != 0 || v[1] < 1 || v[1] > 12 || v[2] < 1 ||
	    v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60 || v[0] < 1970)
		return (-1);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	if ((t = timegm(&tm)) == (time_t)-1)
		return (-1);
	*out = t;
	return (0);
}

/*
 * Walk a document twice when a callback of the caller's is involved:
 * *emit is 0 on the first walk (checking), 1 on the second.
 */
static int
walk2(const char *buf, size_t len, xp_fn fn, void *arg, int *emit)
{
	int	 rc;

	*emit = 0;
	if ((rc = xp_walk(buf, len, fn, arg)) != 0)
		return (rc);
	*emit = 1;
	return (xp_walk(buf, len, fn, arg));
}

/* Error: <Error><Code/><Message/></Error> */
struct err_ctx {
	struct s3_err	*err;
	int		 code;
};

static int
error_fn(void *arg, const struct xp *x, enum xev ev)
{
	struct err_ctx	*c = arg;

	if (ev == XE_START && x->depth == 1)
		return (strcmp(x->names[0], "Error") == 0 ? 0 :
		    S3XML_WRONG_ROOT);
	if (ev != XE_LEAF)
		return (0);
	if (at(x, 2, "Error", "Code")) {
		if (x->tlen == 0 || copy(c->err->code,
		    sizeof(c->err->code), x) == -1)
			return (-1);
		c->code = 1;
	} else if (at(x, 2, "Error", "Message"))
		strlcpy(c->err->message, x->text, sizeof(c->err->message));
	return (0);
}

int
s3xml_error(const char *buf, size_t len, struct s3_err *err)
{
	struct err_ctx	 c;
	struct s3_err	 tmp;
	int		 rc;

	memset(&tmp, 0, sizeof(tmp));
	c.err = &tmp;
	c.code = 0;
	if ((rc = xp_walk(buf, len, error_fn, &c)) != 0)
		return (rc);
	if (!c.code)
		return (-1);
	strlcpy(err->code, tmp.code, sizeof(err->code));
	strlcpy(err->message, tmp.message, sizeof(err->message));
	return (0);
}

/* ListObjectsV2: ListBucketResult. */
struct list_ctx {
	struct s3_list	*l;
	s3_obj_cb	 cb;
	void		*arg;
	int		 emit;
	struct s3_obj	 o;
	int		 have_key, have_size, truncated;
	char		 token[S3_TOKEN_MAX + 1];
};

static int
list_leaf(struct list_ctx *c, const struct xp *x)
{
	if (at(x, 3, "ListBucketResult", "Contents", "Key") ||
	    at(x, 3, "ListBucketResult", "CommonPrefixes", "Prefix")) {
		if (c->have_key || x->tlen == 0 ||
		    copy(c->o.key, sizeof(c->o.key), x) == -1)
			return (-1);
		c->have_key = 1;
	} else if (at(x, 3, "ListBucketResult", "Contents", "Size")) {
		if (c->have_size || parse_off(x, &c->o.size) == -1)
			return (-1);
		c->have_size = 1;
	} else if (at(x, 3, "ListBucketResult", "Contents", "LastModified")) {
		if (s3xml_time(x->text, &c->o.mtime) == -1)
			return (-1);
	} else if (at(x, 3, "ListBucketResult", "Contents", "ETag")) {
		if (parse_etag(c->o.etag, sizeof(c->o.etag), x) == -1)
			return (-1);
	} else if (at(x, 2, "ListBucketResult", "IsTruncated")) {
		if (strcmp(x->text, "true") == 0)
			c->truncated = 1;
		else if (strcmp(x->text, "false") != 0)
			return (-1);
	} else if (at(x, 2, "ListBucketResult", "NextContinuationToken")) {
		if (copy(c->token, sizeof(c->token), x) == -1)
			return (-1);
	}
	return (0);
}

static int
list_fn(void *arg, const struct xp *x, enum xev ev)
{
	struct list_ctx	*c = arg;
	int		 prefix;

	if (ev == XE_START && x->depth == 1) {
		c->truncated = 0;
		c->token[0] = '\0';
		return (strcmp(x->names[0], "ListBucketResult") == 0 ? 0 :
		    S3XML_WRONG_ROOT);
	}
	if (ev == XE_LEAF)
		return (list_leaf(c, x));
	prefix = at(x, 2, "ListBucketResult", "CommonPrefixes");
	if (!prefix && !at(x, 2, "ListBucketResult", "Contents"))
		return (0);
	if (ev == XE_START) {
		memset(&c->o, 0, sizeof(c->o));
		c->have_key = c->have_size = 0;
		c->o.is_prefix = prefix;
		return (0);
	}
	if (!c->have_key || (!prefix && !c->have_size))
		return (-1);
	if (c->emit && c->cb != NULL && c->cb(c->arg, &c->o) != 0)
		return (XML_STOPPED);
	return (0);
}

int
s3xml_list(const char *buf, size_t len, struct s3_list *l, s3_obj_cb cb,
    void *arg)
{
	struct list_ctx	*c;
	int		 rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (-1);
	c->l = l;
	c->cb = cb;
	c->arg = arg;
	rc = walk2(buf, len, list_fn, c, &c->emit);
	/* A truncated page without a token would loop forever. */
	if (rc == 0 && c->truncated && c->token[0] == '\0')
		rc = -1;
	if (rc == 0) {
		l->truncated = c->truncated;
		strlcpy(l->token, c->token, sizeof(l->token));
	}
	free(c);
	return (rc);
}

/* InitiateMultipartUploadResult/UploadId */
struct one_ctx {
	const char	*root;
	const char	*leaf;
	char		*out;
	size_t		 outsz;
	int		 found;
	int		 etag;
};

static int
one_fn(void *arg, const struct xp *x, enum xev ev)
{
	struct one_ctx	*c = arg;

	if (ev == XE_START && x->depth == 1)
		return (strcmp(x->names[0], c->root) == 0 ? 0 :
		    S3XML_WRONG_ROOT);
	if (ev != XE_LEAF || c->leaf == NULL || !at(x, 2, c->root, c->leaf))
		return (0);
	if (c->found)
		return (-1);
	c->found = 1;
	if (c->etag)
		return (parse_etag(c->out, c->outsz, x));
	return (x->tlen == 0 ? -1 : copy(c->out, c->outsz, x));
}

int
s3xml_upload_id(const char *buf, size_t len, char *out, size_t outsz)
{
	struct one_ctx	 c = { "InitiateMultipartUploadResult", "UploadId",
	    out, outsz, 0, 0 };
	int		 rc;

	if ((rc = xp_walk(buf, len, one_fn, &c)) != 0)
		return (rc);
	return (c.found ? 0 : -1);
}

/* CopyObjectResult/ETag or CopyPartResult/ETag */
int
s3xml_copy_etag(const char *buf, size_t len, char *out, size_t outsz)
{
	struct one_ctx	 c = { "CopyObjectResult", "ETag", out, outsz, 0, 1 };
	int		 rc;

	rc = xp_walk(buf, len, one_fn, &c);
	if (rc == S3XML_WRONG_ROOT) {
		c.root = "CopyPartResult";
		rc = xp_walk(buf, len, one_fn, &c);
	}
	if (rc != 0)
		return (rc);
	return (c.found ? 0 : -1);
}

/* CompleteMultipartUploadResult: only the root is checked (RGW's ETag
 * there is empty). */
int
s3xml_complete(const char *buf, size_t len)
{
	struct one_ctx	 c = { "CompleteMultipartUploadResult", NULL, NULL,
	    0, 0, 0 };

	return (xp_walk(buf, len, one_fn, &c));
}

/* ListPartsResult */
struct parts_ctx {
	s3_part_cb	 cb;
	void		*arg;
	int		 emit;
	struct s3_part	 p;
	int		 have_num, have_etag;
	int		 truncated, next;
};

static int
parts_leaf(struct parts_ctx *c, const struct xp *x)
{
	const char	*errstr;

	if (at(x, 3, "ListPartsResult", "Part", "PartNumber")) {
		c->p.number = strtonum(x->text, 1, S3_PARTS_MAX, &errstr);
		if (errstr != NULL || c->have_num)
			return (-1);
		c->have_num = 1;
	} else if (at(x, 3, "ListPartsResult", "Part", "ETag")) {
		if (c->have_etag ||
		    parse_etag(c->p.etag, sizeof(c->p.etag), x) == -1)
			return (-1);
		c->have_etag = 1;
	} else if (at(x, 3, "ListPartsResult", "Part", "Size")) {
		if (parse_off(x, &c->p.size) == -1)
			return (-1);
	} else if (at(x, 2, "ListPartsResult", "IsTruncated")) {
		if (strcmp(x->text, "true") == 0)
			c->truncated = 1;
		else if (strcmp(x->text, "false") != 0)
			return (-1);
	} else if (at(x, 2, "ListPartsResult", "NextPartNumberMarker")) {
		c->next = strtonum(x->text, 0, S3_PARTS_MAX, &errstr);
		if (errstr != NULL)
			return (-1);
	}
	return (0);
}

static int
parts_fn(void *arg, const struct xp *x, enum xev ev)
{
	struct parts_ctx	*c = arg;

	if (ev == XE_START && x->depth == 1) {
		c->truncated = c->next = 0;
		return (strcmp(x->names[0], "ListPartsResult") == 0 ? 0 :
		    S3XML_WRONG_ROOT);
	}
	if (ev == XE_LEAF)
		return (parts_leaf(c, x));
	if (!at(x, 2, "ListPartsResult", "Part"))
		return (0);
	if (ev == XE_START) {
		memset(&c->p, 0, sizeof(c->p));
		c->have_num = c->have_etag = 0;
		return (0);
	}
	if (!c->have_num || !c->have_etag)
		return (-1);
	if (c->emit && c->cb(c->arg, &c->p) != 0)
		return (XML_STOPPED);
	return (0);
}

int
s3xml_parts(const char *buf, size_t len, s3_part_cb cb, void *arg,
    int *truncated, int *next)
{
	struct parts_ctx	 c;
	int			 rc;

	memset(&c, 0, sizeof(c));
	c.cb = cb;
	c.arg = arg;
	if ((rc = walk2(buf, len, parts_fn, &c, &c.emit)) != 0)
		return (rc);
	if (c.truncated && c.next == 0)
		return (-1);
	*truncated = c.truncated;
	*next = c.next;
	return (0);
}

/* ListMultipartUploadsResult */
struct uploads_ctx {
	s3_upload_cb	 cb;
	void		*arg;
	int		 emit;
	struct s3_upload u;
	int		 have_key, have_id, truncated;
	char		 next_key[S3_KEY_MAX + 1];
	char		 next_id[S3_UPLOAD_ID_MAX + 1];
};

static int
uploads_leaf(struct uploads_ctx *c, const struct xp *x)
{
	const char	*r = "ListMultipartUploadsResult";

	if (at(x, 3, r, "Upload", "Key")) {
		if (c->have_key || x->tlen == 0 ||
		    copy(c->u.key, sizeof(c->u.key), x) == -1)
			return (-1);
		c->have_key = 1;
	} else if (at(x, 3, r, "Upload", "UploadId")) {
		if (c->have_id || x->tlen == 0 ||
		    copy(c->u.upload_id, sizeof(c->u.upload_id), x) == -1)
			return (-1);
		c->have_id = 1;
	} else if (at(x, 3, r, "Upload", "Initiated")) {
		if (s3xml_time(x->text, &c->u.initiated) == -1)
			return (-1);
	} else if (at(x, 2, r, "IsTruncated")) {
		if (strcmp(x->text, "true") == 0)
			c->truncated = 1;
		else if (strcmp(x->text, "false") != 0)
			return (-1);
	} else if (at(x, 2, r, "NextKeyMarker")) {
		if (copy(c->next_key, sizeof(c->next_key), x) == -1)
			return (-1);
	} else if (at(x, 2, r, "NextUploadIdMarker")) {
		if (copy(c->next_id, sizeof(c->next_id), x) == -1)
			return (-1);
	}
	return (0);
}

static int
uploads_fn(void *arg, const struct xp *x, enum xev ev)
{
	struct uploads_ctx	*c = arg;

	if (ev == XE_START && x->depth == 1) {
		c->truncated = 0;
		c->next_key[0] = c->next_id[0] = '\0';
		return (strcmp(x->names[0], "ListMultipartUploadsResult") ==
		    0 ? 0 : S3XML_WRONG_ROOT);
	}
	if (ev == XE_LEAF)
		return (uploads_leaf(c, x));
	if (!at(x, 2, "ListMultipartUploadsResult", "Upload"))
		return (0);
	if (ev == XE_START) {
		memset(&c->u, 0, sizeof(c->u));
		c->have_key = c->have_id = 0;
		return (0);
	}
	if (!c->have_key || !c->have_id)
		return (-1);
	if (c->emit && c->cb(c->arg, &c->u) != 0)
		return (XML_STOPPED);
	return (0);
}

int
s3xml_uploads(const char *buf, size_t len, s3_upload_cb cb, void *arg,
    int *truncated, char *next_key, size_t keysz, char *next_id,
    size_t idsz)
{
	struct uploads_ctx	*c;
	int			 rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (-1);
	c->cb = cb;
	c->arg = arg;
	rc = walk2(buf, len, uploads_fn, c, &c->emit);
	if (rc == 0 && c->truncated && c->next_key[0] == '\0')
		rc = -1;
	if (rc == 0 && (strlcpy(next_key, c->next_key, keysz) >= keysz ||
	    strlcpy(next_id, c->next_id, idsz) >= idsz))
		rc = -1;
	if (rc == 0)
		*truncated = c->truncated;
	free(c);
	return (rc);
}

/*
 * DeleteResult (quiet mode: only the failures): the number of keys that
 * failed into *nfailed and the first failure into err.
 */
struct del_ctx {
	struct s3_err	*err;
	size_t		 nfailed;
	char		 key[S3_KEY_MAX + 1];
	char		 code[64];
	char		 message[256];
};

static int
del_fn(void *arg, const struct xp *x, enum xev ev)
{
	struct del_ctx	*c = arg;

	if (ev == XE_START && x->depth == 1)
		return (strcmp(x->names[0], "DeleteResult") == 0 ? 0 :
		    S3XML_WRONG_ROOT);
	if (ev == XE_LEAF) {
		if (at(x, 3, "DeleteResult", "Error", "Key"))
			return (copy(c->key, sizeof(c->key), x));
		if (at(x, 3, "DeleteResult", "Error", "Code"))
			return (copy(c->code, sizeof(c->code), x));
		if (at(x, 3, "DeleteResult", "Error", "Message"))
			strlcpy(c->message, x->text, sizeof(c->message));
		return (0);
	}
	if (!at(x, 2, "DeleteResult", "Error"))
		return (0);
	if (ev == XE_START) {
		c->key[0] = c->code[0] = c->message[0] = '\0';
		return (0);
	}
	if (c->code[0] == '\0')
		return (-1);
	if (c->nfailed++ == 0) {
		strlcpy(c->err->code, c->code, sizeof(c->err->code));
		strlcpy(c->err->message, c->key, sizeof(c->err->message));
		strlcat(c->err->message, ": ", sizeof(c->err->message));
		strlcat(c->err->message, c->message,
		    sizeof(c->err->message));
	}
	return (0);
}

int
s3xml_delete_result(const char *buf, size_t len, struct s3_err *err,
    size_t *nfailed)
{
	struct del_ctx	*c;
	struct s3_err	 tmp;
	int		 rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (-1);
	memset(&tmp, 0, sizeof(tmp));
	c->err = &tmp;
	if ((rc = xp_walk(buf, len, del_fn, c)) == 0) {
		*nfailed = c->nfailed;
		if (c->nfailed > 0) {
			strlcpy(err->code, tmp.code, sizeof(err->code));
			strlcpy(err->message, tmp.message,
			    sizeof(err->message));
		}
	}
	free(c);
	return (rc);
}
