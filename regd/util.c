/*
 * Names, tags, digests, upload ids and sizes: the checks every process
 * applies to text that came from a client or a configuration file.
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>

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
