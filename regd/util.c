/*
 * Names, tags, digests, upload ids and sizes: the checks every process
 * applies to text that came from a client or a configuration file.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regd.h"

static int	lower_alnum(int);
static int	lower_hex(int);
static int	tag_char(int);

static int
lower_alnum(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
}

static int
lower_hex(int c)
{
	return ((c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'));
}

static int
tag_char(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
}

/*
 * A repository name is one or more components joined by '/'. Each
 * component is runs of [a-z0-9] joined by exactly one of ".", "_", "__"
 * or a run of '-', so nothing like "..", "a/", "/a" or ".a" can pass and
 * a name can never climb out of the repositories directory.
 */
int
valid_name(const char *s)
{
	size_t	 i, len;

	if (s == NULL)
		return (0);
	len = strnlen(s, MAX_NAME + 1);
	if (len == 0 || len > MAX_NAME)
		return (0);

	i = 0;
	for (;;) {
		if (!lower_alnum((unsigned char)s[i]))
			return (0);
		while (lower_alnum((unsigned char)s[i]))
			i++;
		switch (s[i]) {
		case '\0':
			return (1);
		case '/':
			i++;
			break;
		case '.':
			i++;
			break;
		case '_':
			i++;
			if (s[i] == '_')
				i++;
			break;
		case '-':
			while (s[i] == '-')
				i++;
			break;
		default:
			return (0);
		}
	}
}

int
valid_tag(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return (0);
	if (!tag_char((unsigned char)s[0]) || s[0] == '.' || s[0] == '-')
		return (0);
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= MAX_TAG || !tag_char((unsigned char)s[i]))
			return (0);
	}
	return (1);
}

/*
 * Length of the hex part for the algorithm of a digest ("sha256:..." or
 * just "sha256"), or -1 for an algorithm regd does not know.
 */
int
digest_alg_len(const char *d)
{
	if (d == NULL)
		return (-1);
	if (strncmp(d, "sha256", 6) == 0 && (d[6] == ':' || d[6] == '\0'))
		return (64);
	if (strncmp(d, "sha512", 6) == 0 && (d[6] == ':' || d[6] == '\0'))
		return (128);
	return (-1);
}

int
valid_digest(const char *d)
{
	const char	*hex;
	int		 n, i;

	if ((n = digest_alg_len(d)) == -1 || d[6] != ':')
		return (0);
	hex = d + 7;
	for (i = 0; i < n; i++) {
		if (!lower_hex((unsigned char)hex[i]))
			return (0);
	}
	return (hex[n] == '\0');
}

int
valid_uuid(const char *s)
{
	int	 i;

	if (s == NULL)
		return (0);
	for (i = 0; i < MAX_UUID; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return (0);
		} else if (!lower_hex((unsigned char)s[i]))
			return (0);
	}
	return (s[MAX_UUID] == '\0');
}

/*
 * "123", "4k", "4M", "1G": a byte count with an optional binary
 * suffix. Signs, blanks and anything after the suffix are refused.
 */
int
parse_size(const char *s, int64_t *out)
{
	int64_t	 v, mult;
	int	 digit;

	if (s == NULL || *s < '0' || *s > '9')
		return (-1);
	v = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		digit = *s - '0';
		if (v > (INT64_MAX - digit) / 10)
			return (-1);
		v = v * 10 + digit;
	}
	switch (*s) {
	case '\0':
		mult = 1;
		break;
	case 'k':
	case 'K':
		mult = 1024;
		s++;
		break;
	case 'm':
	case 'M':
		mult = 1024 * 1024;
		s++;
		break;
	case 'g':
	case 'G':
		mult = 1024 * 1024 * 1024;
		s++;
		break;
	default:
		return (-1);
	}
	if (*s != '\0')
		return (-1);
	if (v > INT64_MAX / mult)
		return (-1);
	if (out != NULL)
		*out = v * mult;
	return (0);
}

/* Parse "Content-Range: <start>-<end>" of a PATCH. */
int
parse_content_range(const char *s, int64_t *start, int64_t *end)
{
	const char	*dash;
	char		 a[24], b[24];
	const char	*errstr;
	size_t		 n;

	if (strncmp(s, "bytes ", 6) == 0)
		s += 6;
	else if (strncmp(s, "bytes=", 6) == 0)
		s += 6;
	if ((dash = strchr(s, '-')) == NULL)
		return (-1);
	n = dash - s;
	if (n == 0 || n >= sizeof(a) || strlen(dash + 1) == 0 ||
	    strlen(dash + 1) >= sizeof(b))
		return (-1);
	memcpy(a, s, n);
	a[n] = '\0';
	strlcpy(b, dash + 1, sizeof(b));
	if (strspn(a, "0123456789") != strlen(a) ||
	    strspn(b, "0123456789") != strlen(b))
		return (-1);
	*start = strtonum(a, 0, INT64_MAX, &errstr);
	if (errstr != NULL)
		return (-1);
	*end = strtonum(b, 0, INT64_MAX, &errstr);
	if (errstr != NULL || *end < *start)
		return (-1);
	/* A length of end - start + 1 must fit: no end of INT64_MAX. */
	if (*end == INT64_MAX)
		return (-1);
	return (0);
}

/*
 * Parse "Range: bytes=a-b" against a blob of size; 0 ok, -1 not
 * satisfiable, 1 to be ignored: another unit (RFC 9110, 14.2) or several
 * ranges, which are answered with the whole body as nginx does.
 */
int
parse_range(const char *s, int64_t size, int64_t *start, int64_t *end)
{
	const char	*dash, *errstr;
	char		 a[24], b[24];
	size_t		 n;

	if (strncmp(s, "bytes=", 6) != 0)
		return (1);
	s += 6;
	if (strchr(s, ',') != NULL)
		return (1);
	if ((dash = strchr(s, '-')) == NULL)
		return (-1);
	n = dash - s;
	if (n >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
		return (-1);
	memcpy(a, s, n);
	a[n] = '\0';
	strlcpy(b, dash + 1, sizeof(b));
	if (strspn(a, "0123456789") != strlen(a) ||
	    strspn(b, "0123456789") != strlen(b) || (n == 0 && b[0] == '\0'))
		return (-1);
	if (n == 0) {
		/* The last b bytes; "-0" asks for none and is unsatisfiable. */
		*end = size - 1;
		*start = size - strtonum(b, 1, INT64_MAX, &errstr);
		if (errstr != NULL)
			return (-1);
		if (*start < 0)
			*start = 0;
		return (size == 0 ? -1 : 0);
	}
	*start = strtonum(a, 0, INT64_MAX, &errstr);
	if (errstr != NULL)
		return (-1);
	if (b[0] == '\0')
		*end = size - 1;
	else {
		*end = strtonum(b, 0, INT64_MAX, &errstr);
		if (errstr != NULL || *end < *start)
			return (-1);
		if (*end >= size)
			*end = size - 1;
	}
	if (*start >= size)
		return (-1);
	return (0);
}

/*
 * Client-controlled text for a log line: control characters, DEL and
 * bytes above 0x7e become \xHH, with LOGESC_QUOTE so do '"' and '\' and
 * with LOGESC_SPACE spaces, so that a field can neither end the line nor
 * forge another one or more fields.  dst (len > 0) always ends with a NUL; an escape that
 * does not fit is left out whole.  Returns the length written.
 */
size_t
log_escape(char *dst, size_t len, const char *src, size_t slen, int flags)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 ch;
	size_t			 i, o = 0;

	for (i = 0; i < slen; i++) {
		ch = (unsigned char)src[i];
		if ((ch > 0x20 && ch < 0x7f && ((flags & LOGESC_QUOTE) == 0 ||
		    (ch != '"' && ch != '\\'))) ||
		    (ch == ' ' && (flags & LOGESC_SPACE) == 0)) {
			if (o + 1 >= len)
				break;
			dst[o++] = ch;
			continue;
		}
		if (o + 4 >= len)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[ch >> 4];
		dst[o++] = hex[ch & 0xf];
	}
	dst[o] = '\0';
	return (o);
}

/*
 * Read a whole file from offset 0 (pread: the file offset is left alone)
 * into a new buffer, NUL-terminated, of at most max bytes.  Returns 0
 * with *bufp and *lenp set, or -1 with errno (EFBIG: longer than max);
 * with secret, every buffer given up is cleared before it is freed.
 */
int
read_fd_all(int fd, size_t max, int secret, unsigned char **bufp,
    size_t *lenp)
{
	unsigned char	*buf = NULL, *nbuf;
	size_t		 size = 0, off = 0, want;
	ssize_t		 n;
	int		 serrno;

	for (;;) {
		if (off + 1 >= size) {
			if (size > max) {
				errno = EFBIG;
				goto fail;
			}
			want = size == 0 ? 4096 : size * 2;
			if (want > max + 2)
				want = max + 2;	/* one byte over shows more */
			if ((nbuf = malloc(want)) == NULL)
				goto fail;
			if (buf != NULL) {
				memcpy(nbuf, buf, off);
				if (secret)
					freezero(buf, size);
				else
					free(buf);
			}
			buf = nbuf;
			size = want;
		}
		n = pread(fd, buf + off, size - off - 1, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		off += n;
		if (off > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	buf[off] = '\0';
	*bufp = buf;
	*lenp = off;
	return (0);
fail:
	serrno = errno;
	if (buf != NULL && secret)
		freezero(buf, size);
	else
		free(buf);
	errno = serrno;
	return (-1);
}
