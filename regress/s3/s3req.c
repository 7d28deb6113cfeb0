/*
 * s3req: sign one S3 request with regd/sigv4.c and run curl on it, so that
 * shell tests can talk to an S3 endpoint (radosgw) without an SDK.
 *
 * s3req [-n] [-u] [-p seconds] [-H 'Name: value']... [-e endpoint]
 *     [-k access-key] [-s secret-key] [-r region]
 *     method /bucket/key[?name=value&...] [file] [-- curl-args...]
 *
 * The path and the query are given raw (not encoded).  The endpoint,
 * keys and region default to $S3_ENDPOINT, $S3_ACCESS_KEY,
 * $S3_SECRET_KEY and $S3_REGION.  The file, if any, is the body; its
 * SHA-256 is signed unless -u (UNSIGNED-PAYLOAD).  -H headers are sent and
 * signed.  -p prints a presigned URL instead, -n prints the curl command
 * instead of running it.
 */

#include <sys/types.h>

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sigv4.h"

#define MAX_ARGS	(2 * SIGV4_MAX_HEADERS + 64)
#define MAX_URL		(SIGV4_MAX_CANON + 1024)

struct args {
	char	*v[MAX_ARGS];
	int	 n;
};

static void	usage(void) __attribute__((__noreturn__));
static void	add(struct args *, const char *);
static void	addf(struct args *, const char *, const char *);
static void	file_sha256(const char *, char *);
static size_t	split_query(char *, struct sigv4_pair *, size_t);
static void	build_url(char *, size_t, const char *, const char *,
		    const struct sigv4_pair *, size_t, const char *);
static void	print_quoted(const struct args *);

static void
usage(void)
{
	fprintf(stderr, "usage: s3req [-nu] [-p seconds] [-H 'Name: value'] "
	    "[-e endpoint] [-k key]\n\t[-s secret] [-r region] method "
	    "/bucket/key[?query] [file] [-- curl-args]\n");
	exit(2);
}

static void
add(struct args *a, const char *s)
{
	if (a->n >= MAX_ARGS - 1)
		errx(2, "too many arguments");
	if ((a->v[a->n++] = strdup(s)) == NULL)
		err(2, NULL);
	a->v[a->n] = NULL;
}

static void
addf(struct args *a, const char *name, const char *value)
{
	char	*s;

	if (asprintf(&s, "%s: %s", name, value) == -1)
		err(2, NULL);
	add(a, "-H");
	add(a, s);
	free(s);
}

static void
file_sha256(const char *path, char *out)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		err(2, "%s", path);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		errx(2, "EVP_DigestInit_ex");
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(ctx, buf, n) != 1)
			errx(2, "EVP_DigestUpdate");
	if (n == -1)
		err(2, "%s", path);
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		errx(2, "EVP_DigestFinal_ex");
	EVP_MD_CTX_free(ctx);
	close(fd);
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* "a=1&b&c=" into pairs, in place. */
static size_t
split_query(char *q, struct sigv4_pair *p, size_t max)
{
	char	*kv, *eq;
	size_t	 n = 0;

	while ((kv = strsep(&q, "&")) != NULL) {
		if (*kv == '\0')
			continue;
		if (n == max)
			errx(2, "too many query parameters");
		if ((eq = strchr(kv, '=')) != NULL)
			*eq++ = '\0';
		p[n].name = kv;
		p[n++].value = eq;
	}
	return (n);
}

/* endpoint + encoded path + "?" + encoded query (or a presigned one). */
static void
build_url(char *url, size_t sz, const char *endpoint, const char *path,
    const struct sigv4_pair *q, size_t nq, const char *presigned)
{
	char	 enc[SIGV4_MAX_CANON];
	size_t	 i;

	if (sigv4_uri_encode(path, 1, enc, sizeof(enc)) == -1 ||
	    strlcpy(url, endpoint, sz) >= sz || strlcat(url, enc, sz) >= sz)
		errx(2, "URL too long");
	for (i = 0; i < nq; i++) {
		strlcat(url, i == 0 ? "?" : "&", sz);
		if (sigv4_uri_encode(q[i].name, 0, enc, sizeof(enc)) == -1)
			errx(2, "URL too long");
		strlcat(url, enc, sz);
		strlcat(url, "=", sz);
		if (sigv4_uri_encode(q[i].value != NULL ? q[i].value : "", 0,
		    enc, sizeof(enc)) == -1)
			errx(2, "URL too long");
		if (strlcat(url, enc, sz) >= sz)
			errx(2, "URL too long");
	}
	if (presigned != NULL && (strlcat(url, nq == 0 ? "?" : "&", sz) >= sz ||
	    strlcat(url, presigned, sz) >= sz))
		errx(2, "URL too long");
}

static void
print_quoted(const struct args *a)
{
	const char	*c;
	int		 i;

	for (i = 0; i < a->n; i++) {
		printf("%s'", i > 0 ? " " : "");
		for (c = a->v[i]; *c != '\0'; c++) {
			if (*c == '\'')
				printf("'\\''");
			else
				putchar(*c);
		}
		putchar('\'');
	}
	putchar('\n');
}

int
main(int argc, char *argv[])
{
	struct sigv4_cred	 cred;
	struct sigv4_req	 req;
	struct sigv4_signed	 s;
	struct sigv4_pair	 h[SIGV4_MAX_HEADERS], q[SIGV4_MAX_QUERY];
	struct args		 a;
	char			 url[MAX_URL], pre[MAX_URL], payload[65];
	char			*endpoint, *host, *path, *query, *c;
	const char		*errstr, *file = NULL;
	size_t			 nh = 1, nq = 0;
	long long		 expires = 0;
	int			 ch, dry = 0, unsigned_payload = 0, i;

	memset(&cred, 0, sizeof(cred));
	memset(&a, 0, sizeof(a));
	endpoint = getenv("S3_ENDPOINT");
	cred.access_key = getenv("S3_ACCESS_KEY");
	cred.secret_key = getenv("S3_SECRET_KEY");
	cred.region = getenv("S3_REGION");
	cred.service = "s3";
	while ((ch = getopt(argc, argv, "+e:H:k:np:r:s:u")) != -1) {
		switch (ch) {
		case 'e':
			endpoint = optarg;
			break;
		case 'H':
			if (nh == SIGV4_MAX_HEADERS)
				errx(2, "too many headers");
			if ((c = strchr(optarg, ':')) == NULL)
				errx(2, "-H wants 'Name: value'");
			*c++ = '\0';
			h[nh].name = optarg;
			h[nh++].value = c;
			break;
		case 'k':
			cred.access_key = optarg;
			break;
		case 'n':
			dry = 1;
			break;
		case 'p':
			expires = strtonum(optarg, 1, SIGV4_MAX_EXPIRES, &errstr);
			if (errstr != NULL)
				errx(2, "-p %s: %s", optarg, errstr);
			break;
		case 'r':
			cred.region = optarg;
			break;
		case 's':
			cred.secret_key = optarg;
			break;
		case 'u':
			unsigned_payload = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		usage();
	if (cred.region == NULL)
		cred.region = "us-east-1";
	if (endpoint == NULL || cred.access_key == NULL ||
	    cred.secret_key == NULL)
		errx(2, "endpoint and keys needed (-e -k -s or S3_* env)");
	if (strncmp(endpoint, "http://", 7) == 0)
		host = endpoint + 7;
	else if (strncmp(endpoint, "https://", 8) == 0)
		host = endpoint + 8;
	else
		errx(2, "endpoint must be http:// or https://");
	if ((c = strchr(host, '/')) != NULL)
		*c = '\0';		/* a path in the endpoint is ignored */
	h[0].name = "Host";
	h[0].value = host;

	path = argv[1];
	if ((query = strchr(path, '?')) != NULL) {
		*query++ = '\0';
		nq = split_query(query, q, SIGV4_MAX_QUERY);
	}
	if (argc > 2 && strcmp(argv[2], "--") != 0)
		file = argv[2];

	memset(&req, 0, sizeof(req));
	req.method = argv[0];
	req.path = path;
	req.query = q;
	req.nquery = nq;
	req.headers = h;
	req.nheaders = nh;
	req.when = time(NULL);
	if (unsigned_payload)
		req.payload = SIGV4_UNSIGNED;
	else if (file != NULL) {
		file_sha256(file, payload);
		req.payload = payload;
	}

	if (expires > 0) {
		if (sigv4_presign(&cred, &req, expires, pre, sizeof(pre)) == -1)
			errx(2, "cannot presign this request");
		build_url(url, sizeof(url), endpoint, path, NULL, 0, pre);
		printf("%s\n", url);
		return (0);
	}
	if (sigv4_sign(&cred, &req, &s) == -1)
		errx(2, "cannot sign this request");
	build_url(url, sizeof(url), endpoint, path, q, nq, NULL);

	add(&a, "curl");
	add(&a, "-sS");
	add(&a, "--path-as-is");
	add(&a, "-X");
	add(&a, req.method);
	for (i = 0; i < (int)nh; i++)
		addf(&a, h[i].name, h[i].value);
	addf(&a, "x-amz-date", s.amz_date);
	addf(&a, "x-amz-content-sha256", s.content_sha256);
	addf(&a, "Authorization", s.authorization);
	if (file != NULL) {
		add(&a, "-T");
		add(&a, file);
	} else if (strcmp(req.method, "PUT") == 0 ||
	    strcmp(req.method, "POST") == 0)
		addf(&a, "Content-Length", "0");
	for (i = 2; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			break;
	for (i++; i < argc; i++)
		add(&a, argv[i]);
	add(&a, url);
	if (dry) {
		print_quoted(&a);
		return (0);
	}
	execvp("curl", a.v);
	err(2, "curl");
}
