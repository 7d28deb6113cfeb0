/*
 * Fuzz target: the checks util.c applies to client text (repository
 * names, tags, digests, upload ids, sizes) and the Range and
 * Content-Range parsers.  Besides not crashing, what each accepts must
 * keep the promises the storage code relies on; a broken promise aborts.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regd.h"
#include "fuzz.h"

static void
check(int ok, const char *what, const char *s)
{
	if (ok)
		return;
	fprintf(stderr, "broken promise: %s: \"%s\"\n", what, s);
	abort();
}

static void
names(const char *s)
{
	size_t	 len = strlen(s);
	int	 n;

	if (valid_name(s)) {
		check(len > 0 && len <= MAX_NAME, "name length", s);
		check(strstr(s, "..") == NULL && strstr(s, "//") == NULL &&
		    s[0] != '/' && s[len - 1] != '/' && s[0] != '.',
		    "name escapes", s);
		check(strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-/") ==
		    len, "name charset", s);
	}
	if (valid_tag(s)) {
		check(len > 0 && len <= MAX_TAG, "tag length", s);
		check(strchr(s, '/') == NULL && strchr(s, ':') == NULL &&
		    s[0] != '.', "tag charset", s);
	}
	if (valid_digest(s)) {
		n = digest_alg_len(s);
		check(n == 64 || n == 128, "digest algorithm", s);
		check(len == 7 + (size_t)n && len <= MAX_DIGEST,
		    "digest length", s);
		check(strchr(s, '/') == NULL, "digest has a slash", s);
	}
	if (valid_uuid(s))
		check(len == MAX_UUID && strchr(s, '/') == NULL, "uuid", s);
}

static void
ranges(const char *s, int64_t size)
{
	int64_t	 start, end, v;

	if (parse_content_range(s, &start, &end) == 0)
		check(start >= 0 && end >= start, "content-range order", s);
	if (parse_range(s, size, &start, &end) == 0)
		check(start >= 0 && start <= end && end < size,
		    "range inside the blob", s);
	if (parse_size(s, &v) == 0)
		check(v >= 0, "size sign", s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s;
	int64_t		 blobsize;
	size_t		 i;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	names(s);
	/* The first bytes also pick a blob size for the Range parser. */
	blobsize = 0;
	for (i = 0; i < size && i < 3; i++)
		blobsize = blobsize * 251 + data[i];
	ranges(s, blobsize);
	ranges(s, INT64_MAX);
	free(s);
	return (0);
}
