/*
 * Unit test of regd/util.c: repository names, tags, digests, upload ids
 * and sizes. One line per case; exit status 1 if any case failed.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regd.h"

struct vcase {
	const char	*in;
	int		 want;
};

struct scase {
	const char	*in;
	int		 ret;
	int64_t		 val;
};

static int	nfail, npass;

static void	check_valid(const char *, int (*)(const char *),
		    const struct vcase *, size_t);
static void	check_one(const char *, int (*)(const char *), const char *,
		    const char *, int);
static char	*repeat(const char *, const char *, size_t, const char *);
static void	 check_read_fd_all(void);
static void	check_read_all(void);

static const struct vcase names[] = {
	{ "a", 1 },
	{ "library/alpine", 1 },
	{ "a/b/c/d/e", 1 },
	{ "my-repo", 1 },
	{ "my--repo", 1 },
	{ "my---repo", 1 },
	{ "a.b", 1 },
	{ "a_b", 1 },
	{ "a__b", 1 },
	{ "a.b_c__d-e--f", 1 },
	{ "0", 1 },
	{ "123/456", 1 },
	{ "foo.bar.baz/qux", 1 },
	{ "", 0 },
	{ "A", 0 },
	{ "Library/alpine", 0 },
	{ "library/Alpine", 0 },
	{ "a..b", 0 },
	{ "a___b", 0 },
	{ "a._b", 0 },
	{ "a-.b", 0 },
	{ "a/../b", 0 },
	{ "../a", 0 },
	{ "a/..", 0 },
	{ "a/.", 0 },
	{ "./a", 0 },
	{ ".a", 0 },
	{ "_a", 0 },
	{ "-a", 0 },
	{ "a.", 0 },
	{ "a_", 0 },
	{ "a-", 0 },
	{ "a/", 0 },
	{ "/a", 0 },
	{ "a//b", 0 },
	{ "a/%2e%2e/b", 0 },
	{ "%2e%2e", 0 },
	{ "a b", 0 },
	{ "a\tb", 0 },
	{ "a\nb", 0 },
	{ "a:b", 0 },
	{ "a@b", 0 },
	{ "a\\b", 0 },
	{ "caf\xc3\xa9", 0 },
	{ "a/b/", 0 },
	{ "a./b", 0 },
	{ "a/.b", 0 },
};

static const struct vcase tags[] = {
	{ "latest", 1 },
	{ "v1.0.0", 1 },
	{ "V1", 1 },
	{ "_under", 1 },
	{ "1", 1 },
	{ "a-b_c.D", 1 },
	{ "x..y", 1 },
	{ "", 0 },
	{ ".hidden", 0 },
	{ "-dash", 0 },
	{ "a/b", 0 },
	{ "a:b", 0 },
	{ "a b", 0 },
	{ "..", 0 },
	{ "%2e", 0 },
	{ "t@g", 0 },
	{ "tag\n", 0 },
};

static const struct vcase digests[] = {
	{ "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 1 },
	{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 1 },
	{ "sha256:0000000000000000000000000000000000000000000000000000000000000000", 1 },
	/* 63 hex digits */
	{ "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8", 0 },
	/* 65 hex digits */
	{ "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a0", 0 },
	/* upper-case hex */
	{ "sha256:44136FA355B3678A1146AD16F7E8649E94FB4FC21FE77E8310C060F61CAAFF8A", 0 },
	{ "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8A", 0 },
	{ "SHA256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 0 },
	{ "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8g", 0 },
	{ "sha256-44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 0 },
	{ "sha256:", 0 },
	{ "sha256", 0 },
	{ "sha256:totallywrong", 0 },
	{ "sha256:../../../../etc/passwd", 0 },
	{ "sha384:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 0 },
	{ "md5:d41d8cd98f00b204e9800998ecf8427e", 0 },
	{ " sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 0 },
	{ "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a ", 0 },
	{ "sha256: 4136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 0 },
	{ "", 0 },
	{ "latest", 0 },
	{ "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", 1 },
	/* sha512 with a sha256-sized hex part */
	{ "sha512:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 0 },
	/* 127 hex digits */
	{ "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3", 0 },
	{ "sha512:CF83E1357EEFB8BDF1542850D66D8007D620E4050B5715DC83F4A921D36CE9CE"
	    "47D0D13C5D85F2B0FF8318D2877EEC2F63B931BD47417A81A538327AF927DA3E", 0 },
};

static const struct vcase uuids[] = {
	{ "1b4e28ba-2fa1-41d2-883f-0016d3cca427", 1 },
	{ "00000000-0000-0000-0000-000000000000", 1 },
	{ "1B4E28BA-2FA1-41D2-883F-0016D3CCA427", 0 },
	{ "1b4e28ba2fa141d2883f0016d3cca427", 0 },
	{ "1b4e28ba-2fa1-41d2-883f-0016d3cca42", 0 },
	{ "1b4e28ba-2fa1-41d2-883f-0016d3cca4277", 0 },
	{ "1b4e28ba-2fa1-41d2-883f_0016d3cca427", 0 },
	{ "1b4e28ba-2fa1-41d2-883g-0016d3cca427", 0 },
	{ "../../../../../../../../../etc/passwd", 0 },
	{ "", 0 },
};

static const struct scase sizes[] = {
	{ "0", 0, 0 },
	{ "1", 0, 1 },
	{ "123", 0, 123 },
	{ "4K", 0, 4096 },
	{ "4k", 0, 4096 },
	{ "8K", 0, 8192 },
	{ "4M", 0, 4194304 },
	{ "4m", 0, 4194304 },
	{ "1G", 0, 1073741824 },
	{ "1g", 0, 1073741824 },
	{ "0K", 0, 0 },
	{ "9223372036854775807", 0, INT64_MAX },
	{ "8589934591G", 0, INT64_C(8589934591) * 1073741824 },
	{ "9223372036854775808", -1, 0 },
	{ "8589934592G", -1, 0 },
	{ "99999999999999999999", -1, 0 },
	{ "", -1, 0 },
	{ "K", -1, 0 },
	{ "-1", -1, 0 },
	{ "+1", -1, 0 },
	{ " 1", -1, 0 },
	{ "1 ", -1, 0 },
	{ "1KB", -1, 0 },
	{ "1T", -1, 0 },
	{ "1.5M", -1, 0 },
	{ "0x10", -1, 0 },
	{ "4MM", -1, 0 },
};

static void
check_one(const char *what, int (*fn)(const char *), const char *in,
    const char *label, int want)
{
	int	 got;

	got = fn(in);
	if (got == want) {
		npass++;
		printf("ok   %s(%s) = %d\n", what, label, got);
	} else {
		nfail++;
		printf("FAIL %s(%s) = %d, want %d\n", what, label, got, want);
	}
}

static void
check_valid(const char *what, int (*fn)(const char *),
    const struct vcase *tab, size_t n)
{
	char	 label[128];
	size_t	 i, j, k;

	for (i = 0; i < n; i++) {
		/* Show control bytes so each case stays on one line. */
		for (j = 0, k = 0; tab[i].in[j] != '\0' &&
		    k + 5 < sizeof(label); j++) {
			unsigned char	 c = tab[i].in[j];

			if (c < 0x20 || c >= 0x7f)
				k += snprintf(label + k, sizeof(label) - k,
				    "\\x%02x", c);
			else
				label[k++] = c;
		}
		label[k] = '\0';
		check_one(what, fn, tab[i].in, label[0] == '\0' ? "\"\"" :
		    label, tab[i].want);
	}
}

/* log_escape: one case; want is what the log line gets. */
static void
check_escape(const char *in, size_t len, int flags, size_t dlen,
    const char *want)
{
	char	 out[64];
	size_t	 n;

	n = log_escape(out, dlen, in, len, flags);
	if (strcmp(out, want) == 0 && n == strlen(want)) {
		npass++;
		printf("ok   log_escape(%d bytes, %d, %zu) = \"%s\"\n",
		    (int)len, flags, dlen, out);
	} else {
		nfail++;
		printf("FAIL log_escape(%d bytes, %d, %zu) = \"%s\" (%zu), "
		    "want \"%s\"\n", (int)len, flags, dlen, out, n, want);
	}
}

static void
check_escapes(void)
{
	const int	 q = LOGESC_QUOTE, qs = LOGESC_QUOTE | LOGESC_SPACE;

	check_escape("a\r\nb", 4, q, 64, "a\\x0D\\x0Ab");
	check_escape("say \"hi\" \\", 10, q, 64,
	    "say \\x22hi\\x22 \\x5C");
	check_escape("say \"hi\"", 8, 0, 64, "say \"hi\"");
	check_escape("a b", 3, qs, 64, "a\\x20b");
	check_escape("\x7f\xc3\xa9\t", 4, 0, 64, "\\x7F\\xC3\\xA9\\x09");
	check_escape("a\0b", 3, 0, 64, "a\\x00b");
	/* An escape that does not fit is left out whole. */
	check_escape("ab\n", 3, 0, 6, "ab");
	check_escape("ab\n", 3, 0, 7, "ab\\x0A");
	check_escape("abc", 3, 0, 1, "");
}

static void
read_case(const char *name, size_t fsize, off_t seek, size_t max, int want,
    int werrno)
{
	unsigned char	*buf = NULL;
	size_t		 len = 0, i;
	FILE		*fp;
	int		 fd, rv, ok;

	if ((fp = tmpfile()) == NULL) {
		perror("tmpfile");
		exit(2);
	}
	for (i = 0; i < fsize; i++)
		fputc('a' + i % 26, fp);
	fflush(fp);
	fd = fileno(fp);
	lseek(fd, seek, SEEK_SET);
	errno = 0;
	rv = read_fd_all(fd, max, (int)(fsize & 1), &buf, &len);
	ok = rv == want && (rv == -1 ? errno == werrno : len == fsize &&
	    buf[len] == '\0' && (fsize == 0 || (buf[0] == 'a' &&
	    buf[len - 1] == 'a' + (len - 1) % 26))) &&
	    lseek(fd, 0, SEEK_CUR) == seek;
	if (ok)
		npass++;
	else
		nfail++;
	printf("%s read_fd_all(%s) = %d, %zu\n", ok ? "ok  " : "FAIL", name,
	    rv, len);
	free(buf);
	fclose(fp);
}

/* From offset 0 whatever the file offset, whole, NUL-ended, bounded. */
static void
check_read_all(void)
{
	read_case("empty", 0, 0, 100, 0, 0);
	read_case("small", 10, 5, 100, 0, 0);
	read_case("exactly max", 5000, 0, 5000, 0, 0);
	read_case("one over max", 5001, 0, 5000, -1, EFBIG);
	read_case("several growths", 300001, 7, 1000000, 0, 0);
	read_case("max 0", 1, 0, 0, -1, EFBIG);
}

/* head + n copies of unit + tail, in a new string. */
static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	char	*s;
	size_t	 len, i;

	len = strlen(head) + n * strlen(unit) + strlen(tail) + 1;
	if ((s = malloc(len)) == NULL) {
		perror("malloc");
		exit(2);
	}
	strlcpy(s, head, len);
	for (i = 0; i < n; i++)
		strlcat(s, unit, len);
	strlcat(s, tail, len);
	return (s);
}

/*
 * read_fd_all: files of 0, max - 1, max and max + 1 bytes, read from
 * the start whatever the descriptor's offset, NUL-terminated.
 */
static void
check_read_fd_all(void)
{
	static const size_t	 lens[] = { 0, 99, 100, 101, 5000 };
	unsigned char		*buf, data[5000];
	char			 path[] = "/tmp/test_util.XXXXXX";
	size_t			 i, len, max;
	int			 fd, ret, want, ok;

	memset(data, 'x', sizeof(data));
	if ((fd = mkstemp(path)) == -1) {
		perror("mkstemp");
		exit(2);
	}
	unlink(path);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		if (ftruncate(fd, 0) == -1 ||
		    pwrite(fd, data, lens[i], 0) != (ssize_t)lens[i]) {
			perror("write");
			exit(2);
		}
		lseek(fd, 0, SEEK_END);
		max = lens[i] == 5000 ? 6000 : 100;
		want = lens[i] <= max ? 0 : -1;
		buf = NULL;
		ret = read_fd_all(fd, max, i % 2, &buf, &len);
		ok = ret == want && (ret == -1 ? errno == EFBIG :
		    len == lens[i] && buf[len] == '\0' &&
		    memcmp(buf, data, len) == 0);
		if (ok) {
			npass++;
			printf("ok   read_fd_all(%zu bytes, max %zu) = %d\n",
			    lens[i], max, ret);
		} else {
			nfail++;
			printf("FAIL read_fd_all(%zu bytes, max %zu) = %d, "
			    "want %d\n", lens[i], max, ret, want);
		}
		free(buf);
	}
	close(fd);
}

int
main(void)
{
	char		 label[64];
	char		*s;
	int64_t		 v;
	size_t		 i;
	int		 ret;

	check_valid("valid_name", valid_name, names,
	    sizeof(names) / sizeof(names[0]));

	/* Length limits: MAX_NAME (255) passes, 256 does not. */
	s = repeat("", "a", MAX_NAME, "");
	check_one("valid_name", valid_name, s, "a x 255", 1);
	free(s);
	s = repeat("", "a", MAX_NAME + 1, "");
	check_one("valid_name", valid_name, s, "a x 256", 0);
	free(s);
	s = repeat("", "ab/", 85, "");		/* 255 chars, trailing '/' */
	check_one("valid_name", valid_name, s, "ab/ x 85", 0);
	free(s);
	s = repeat("", "ab/", 84, "abc");	/* 255 chars */
	check_one("valid_name", valid_name, s, "ab/ x 84 + abc", 1);
	free(s);
	s = repeat("", "ab/", 84, "abcd");	/* 256 chars */
	check_one("valid_name", valid_name, s, "ab/ x 84 + abcd", 0);
	free(s);
	s = repeat("a", "-", 253, "b");
	check_one("valid_name", valid_name, s, "a + 253 dashes + b", 1);
	free(s);
	check_one("valid_name", valid_name, NULL, "NULL", 0);

	check_valid("valid_tag", valid_tag, tags,
	    sizeof(tags) / sizeof(tags[0]));
	s = repeat("", "t", MAX_TAG, "");
	check_one("valid_tag", valid_tag, s, "t x 128", 1);
	free(s);
	s = repeat("", "t", MAX_TAG + 1, "");
	check_one("valid_tag", valid_tag, s, "t x 129", 0);
	free(s);
	s = repeat("_", ".", MAX_TAG - 1, "");
	check_one("valid_tag", valid_tag, s, "_ + 127 dots", 1);
	free(s);

	check_valid("valid_digest", valid_digest, digests,
	    sizeof(digests) / sizeof(digests[0]));
	check_one("valid_digest", valid_digest, NULL, "NULL", 0);

	check_valid("valid_uuid", valid_uuid, uuids,
	    sizeof(uuids) / sizeof(uuids[0]));

	/* digest_alg_len */
	{
		static const struct {
			const char	*in;
			int		 want;
		} alg[] = {
			{ "sha256", 64 },
			{ "sha256:abc", 64 },
			{ "sha512", 128 },
			{ "sha512:", 128 },
			{ "sha384:abc", -1 },
			{ "sha2566:abc", -1 },
			{ "sha25", -1 },
			{ "SHA256:abc", -1 },
			{ "", -1 },
		};

		for (i = 0; i < sizeof(alg) / sizeof(alg[0]); i++) {
			ret = digest_alg_len(alg[i].in);
			if (ret == alg[i].want) {
				npass++;
				printf("ok   digest_alg_len(%s) = %d\n",
				    alg[i].in, ret);
			} else {
				nfail++;
				printf("FAIL digest_alg_len(%s) = %d, "
				    "want %d\n", alg[i].in, ret, alg[i].want);
			}
		}
	}

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		v = -12345;
		ret = parse_size(sizes[i].in, &v);
		snprintf(label, sizeof(label), "\"%s\"", sizes[i].in);
		if (ret == sizes[i].ret && (ret != 0 || v == sizes[i].val)) {
			npass++;
			printf("ok   parse_size(%s) = %d", label, ret);
			if (ret == 0)
				printf(", %" PRId64, v);
			printf("\n");
		} else {
			nfail++;
			printf("FAIL parse_size(%s) = %d, %" PRId64
			    ", want %d, %" PRId64 "\n", label, ret, v,
			    sizes[i].ret, sizes[i].val);
		}
	}

	check_escapes();
	check_read_fd_all();
	check_read_all();
	printf("%d passed, %d failed\n", npass, nfail);
	return (nfail == 0 ? 0 : 1);
}
