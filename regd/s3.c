/*
 * A blocking S3 client: one libcurl easy handle per struct s3_conn (its
 * connections kept alive between requests), requests signed with SigV4,
 * retries with exponential backoff and jitter on what may pass (no answer,
 * 500, 502, 503, 504, SlowDown), as long as the body can be sent again and
 * nothing of the answer was handed on yet.  Not thread-safe per handle:
 * one s3_conn per thread.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "s3.h"
#include "sigv4.h"

#define ERR_BODY_MAX	65536	/* of an error answer, the rest dropped */
#define MAX_QUERY	8
#define MAX_HDRS	6
#define HOST_MAX	256

enum src {
	SRC_NONE,
	SRC_BUF,
	SRC_FD
};

enum sink {
	SINK_XML,		/* the connection's buffer, for the XML */
	SINK_BUF,		/* the caller's buffer */
	SINK_FD,		/* the caller's descriptor */
	SINK_CB			/* the caller's function */
};

struct s3_conn {
	CURL		*curl;
	char		 scheme[8];
	char		 host[HOST_MAX];	/* host[:port] */
	char		*bucket;
	char		*region;
	char		*access_key;
	char		*secret_key;
	char		*token;
	char		*ca_file;
	char		*ca_pem;	/* the CAs, loaded before a chroot */
	size_t		 ca_pemlen;
	struct curl_slist *resolve;	/* "host:port:addr", pinned */
	int		 vhost;
	long		 connect_ms, low_speed_s, timeout_ms;
	int		 retries;
	long		 retry_base_ms, retry_max_ms;
	char		 errbuf[CURL_ERROR_SIZE];
	char		*xml;		/* the answer's body */
	size_t		 xmllen, xmlcap;
	long		 connects;
};

/* One request and what came back of it. */
struct req {
	struct s3_conn		*c;
	const char		*method;
	const char		*key;		/* NULL: the bucket */
	struct sigv4_pair	 query[MAX_QUERY];
	size_t			 nquery;
	struct sigv4_pair	 hdrs[MAX_HDRS];
	size_t			 nhdrs;
	const char		*payload;	/* hex SHA-256 or UNSIGNED */
	enum src		 src;
	const char		*buf;
	int			 fd;
	off_t			 off, len;	/* of the body */
	int			 seekable;
	off_t			 sent;
	enum sink		 sink;
	char			*out;
	size_t			 outmax, outlen;
	int			 outfd;
	s3_data_cb		 outcb;
	void			*outarg;
	off_t			 written;
	int			 range;		/* a 200 to a Range is wrong */
	int			 may_err200;	/* a 200 may hold an <Error> */
	int			 status;
	char			 etag[S3_ETAG_MAX + 1];
	off_t			 clen;
	time_t			 mtime;
	int			 toobig, ioerr;
	int			 tries;
};

static char	*xstrdup(const char *);
static int	 parse_endpoint(struct s3_conn *, const char *);
static void	 seterr(struct s3_err *, int, const char *, const char *,
		    int, int);
static int	 key_ok(const char *);
static void	 req_init(struct req *, struct s3_conn *, const char *,
		    const char *);
static void	 req_query(struct req *, const char *, const char *);
static void	 req_hdr(struct req *, const char *, const char *);
static int	 build(struct req *, char *, size_t, char *, size_t, char *,
		    size_t);
static size_t	 header_cb(char *, size_t, size_t, void *);
static size_t	 write_cb(char *, size_t, size_t, void *);
static size_t	 read_cb(char *, size_t, size_t, void *);
static int	 seek_cb(void *, curl_off_t, int);
static int	 fd_write_wait(int, const char *, size_t, long);
static int	 attempt(struct req *, struct s3_err *);
static int	 req_answer(struct req *, CURLcode, struct s3_err *);
static int	 perform(struct req *, struct s3_err *);
static void	 backoff(struct s3_conn *, int);

int
s3_init(void)
{
	return (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1);
}

static char *
xstrdup(const char *s)
{
	return (s == NULL ? NULL : strdup(s));
}

static void
seterr(struct s3_err *err, int status, const char *code, const char *msg,
    int transient, int errnum)
{
	if (err == NULL)
		return;
	err->http_status = status;
	strlcpy(err->code, code, sizeof(err->code));
	strlcpy(err->message, msg != NULL ? msg : "", sizeof(err->message));
	err->transient = transient;
	err->errnum = errnum;
}

/* "http[s]://host[:port][/]" into scheme and host. */
static int
parse_endpoint(struct s3_conn *c, const char *ep)
{
	const char	*h;
	size_t		 n;

	if (strncmp(ep, "https://", 8) == 0) {
		strlcpy(c->scheme, "https", sizeof(c->scheme));
		h = ep + 8;
	} else if (strncmp(ep, "http://", 7) == 0) {
		strlcpy(c->scheme, "http", sizeof(c->scheme));
		h = ep + 7;
	} else
		return (-1);
	n = strcspn(h, "/");
	if (n == 0 || n >= sizeof(c->host) || (h[n] == '/' && h[n + 1] != '\0'))
		return (-1);
	memcpy(c->host, h, n);
	c->host[n] = '\0';
	if (strspn(c->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
	    "WXYZ0123456789.-:[]") != n)
		return (-1);
	return (0);
}

struct s3_conn *
s3_conn_new(const struct s3_config *cfg, struct s3_err *err)
{
	struct s3_conn	*c;

	if (cfg->endpoint == NULL || cfg->region == NULL ||
	    cfg->bucket == NULL || cfg->access_key == NULL ||
	    cfg->secret_key == NULL || cfg->bucket[0] == '\0' ||
	    strlen(cfg->bucket) > 63 ||
	    strspn(cfg->bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") !=
	    strlen(cfg->bucket) || cfg->retries < -1 ||
	    cfg->retries > S3_RETRIES_MAX) {
		seterr(err, 0, "BadConfig", "incomplete or bad s3_config", 0,
		    EINVAL);
		return (NULL);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		seterr(err, 0, "NoMemory", strerror(errno), 0, ENOMEM);
		return (NULL);
	}
	if (parse_endpoint(c, cfg->endpoint) == -1) {
		seterr(err, 0, "BadConfig", "bad endpoint", 0, EINVAL);
		free(c);
		return (NULL);
	}
	c->bucket = xstrdup(cfg->bucket);
	c->region = xstrdup(cfg->region);
	c->access_key = xstrdup(cfg->access_key);
	c->secret_key = xstrdup(cfg->secret_key);
	c->token = xstrdup(cfg->token);
	c->ca_file = xstrdup(cfg->ca_file);
	if (cfg->ca_pem != NULL && (c->ca_pem = malloc(cfg->ca_pemlen +
	    1)) != NULL) {
		memcpy(c->ca_pem, cfg->ca_pem, cfg->ca_pemlen);
		c->ca_pemlen = cfg->ca_pemlen;
	}
	if (cfg->resolve != NULL)
		c->resolve = curl_slist_append(NULL, cfg->resolve);
	c->vhost = cfg->virtual_host;
	c->connect_ms = cfg->connect_timeout_ms > 0 ?
	    cfg->connect_timeout_ms : S3_DEF_CONNECT_MS;
	c->low_speed_s = cfg->low_speed_time > 0 ? cfg->low_speed_time :
	    S3_DEF_LOW_SPEED_S;
	c->timeout_ms = cfg->request_timeout_ms > 0 ?
	    cfg->request_timeout_ms : 0;
	c->retries = cfg->retries > 0 ? cfg->retries :
	    cfg->retries == 0 ? S3_DEF_RETRIES : 0;
	c->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms :
	    S3_DEF_RETRY_BASE_MS;
	c->retry_max_ms = cfg->retry_max_ms > 0 ? cfg->retry_max_ms :
	    S3_DEF_RETRY_MAX_MS;
	c->curl = curl_easy_init();
	if (c->bucket == NULL || c->region == NULL || c->access_key == NULL ||
	    c->secret_key == NULL || (cfg->token != NULL && c->token ==
	    NULL) || (cfg->ca_file != NULL && c->ca_file == NULL) ||
	    c->curl == NULL) {
		seterr(err, 0, "NoMemory", "cannot set up the connection", 0,
		    ENOMEM);
		s3_conn_free(c);
		return (NULL);
	}
	return (c);
}

void
s3_conn_free(struct s3_conn *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	if (c->secret_key != NULL)
		freezero(c->secret_key, strlen(c->secret_key));
	if (c->token != NULL)
		freezero(c->token, strlen(c->token));
	free(c->bucket);
	free(c->region);
	free(c->access_key);
	free(c->ca_file);
	free(c->ca_pem);
	curl_slist_free_all(c->resolve);
	free(c->xml);
	free(c);
}

/* How many connections the handle opened so far (for tests). */
long
s3_conn_connects(struct s3_conn *c)
{
	return (c->connects);
}

/* A key: 1 to S3_KEY_MAX bytes, no control character. */
static int
key_ok(const char *k)
{
	const unsigned char	*u;

	if (k == NULL || k[0] == '\0' || strlen(k) > S3_KEY_MAX)
		return (0);
	for (u = (const unsigned char *)k; *u != '\0'; u++)
		if (*u < ' ' || *u == 0x7f)
			return (0);
	return (1);
}

static void
req_init(struct req *r, struct s3_conn *c, const char *method,
    const char *key)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->method = method;
	r->key = key;
	r->src = SRC_NONE;
	r->sink = SINK_XML;
	r->fd = r->outfd = -1;
	r->payload = NULL;
}

static void
req_query(struct req *r, const char *name, const char *value)
{
	if (r->nquery < MAX_QUERY) {
		r->query[r->nquery].name = name;
		r->query[r->nquery++].value = value;
	}
}

static void
req_hdr(struct req *r, const char *name, const char *value)
{
	if (r->nhdrs < MAX_HDRS) {
		r->hdrs[r->nhdrs].name = name;
		r->hdrs[r->nhdrs++].value = value;
	}
}

/*
 * The raw path ("/bucket/key", or "/key" on a virtual host), the host
 * and the URL of a request.
 */
static int
build(struct req *r, char *path, size_t pathsz, char *host, size_t hostsz,
    char *url, size_t urlsz)
{
	struct s3_conn	*c = r->c;
	char		 enc[S3_URL_MAX];
	size_t		 i;
	int		 n;

	if (c->vhost)
		n = snprintf(host, hostsz, "%s.%s", c->bucket, c->host);
	else
		n = snprintf(host, hostsz, "%s", c->host);
	if (n < 0 || (size_t)n >= hostsz)
		return (-1);
	if (c->vhost)
		n = snprintf(path, pathsz, "/%s", r->key != NULL ? r->key :
		    "");
	else
		n = snprintf(path, pathsz, "/%s%s%s", c->bucket,
		    r->key != NULL ? "/" : "", r->key != NULL ? r->key : "");
	if (n < 0 || (size_t)n >= pathsz)
		return (-1);
	if (sigv4_uri_encode(path, 1, enc, sizeof(enc)) == -1)
		return (-1);
	n = snprintf(url, urlsz, "%s://%s%s", c->scheme, host, enc);
	if (n < 0 || (size_t)n >= urlsz)
		return (-1);
	for (i = 0; i < r->nquery; i++) {
		if (strlcat(url, i == 0 ? "?" : "&", urlsz) >= urlsz ||
		    sigv4_uri_encode(r->query[i].name, 0, enc,
		    sizeof(enc)) == -1 || strlcat(url, enc, urlsz) >= urlsz)
			return (-1);
		if (r->query[i].value == NULL)
			continue;
		if (strlcat(url, "=", urlsz) >= urlsz ||
		    sigv4_uri_encode(r->query[i].value, 0, enc,
		    sizeof(enc)) == -1 || strlcat(url, enc, urlsz) >= urlsz)
			return (-1);
	}
	return (0);
}

/* "Wed, 12 Oct 2009 17:50:00 GMT" */
static int
parse_http_date(const char *s, time_t *out)
{
	struct tm	 tm;
	const char	*e;

	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm)) == NULL ||
	    *e != '\0')
		return (-1);
	*out = timegm(&tm);
	return (0);
}

static size_t
header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct req	*r = arg;
	char		 line[512], *v, *e;
	size_t		 len = size * n;
	const char	*errstr;
	long long	 cl;

	if (len >= sizeof(line))
		return (len);		/* nothing we read is that long */
	memcpy(line, p, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		v = strchr(line, ' ');
		r->status = v != NULL ? atoi(v + 1) : 0;
		r->etag[0] = '\0';
		r->clen = -1;
		r->mtime = 0;
		return (len);
	}
	if ((v = strchr(line, ':')) == NULL)
		return (len);
	*v++ = '\0';
	v += strspn(v, " \t");
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		e[-1] = '\0';
	if (strcasecmp(line, "ETag") == 0) {
		if (*v == '"' && strlen(v) >= 2 && v[strlen(v) - 1] == '"') {
			v[strlen(v) - 1] = '\0';
			v++;
		}
		strlcpy(r->etag, v, sizeof(r->etag));
	} else if (strcasecmp(line, "Content-Length") == 0) {
		cl = strtonum(v, 0, LLONG_MAX / 2, &errstr);
		r->clen = errstr == NULL ? cl : -1;
	} else if (strcasecmp(line, "Last-Modified") == 0)
		(void)parse_http_date(v, &r->mtime);
	return (len);
}

/* Write all of p to fd, waiting up to ms at a time when it is full. */
static int
fd_write_wait(int fd, const char *p, size_t len, long ms)
{
	struct pollfd	 pfd;
	ssize_t		 w;

	while (len > 0) {
		if ((w = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return (-1);
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, ms) == 0) {
				errno = ETIMEDOUT;
				return (-1);
			}
			continue;
		}
		p += w;
		len -= w;
	}
	return (0);
}

static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct req	*r = arg;
	struct s3_conn	*c = r->c;
	size_t		 len = size * n, cap, max;
	char		*nx;

	if (r->status >= 200 && r->status <= 299 && r->sink != SINK_XML) {
		if (r->range && r->status == 200) {
			r->ioerr = EIO;		/* the whole object */
			return (0);
		}
		if (r->sink == SINK_BUF) {
			if (len > r->outmax - r->outlen) {
				r->toobig = 1;
				return (0);
			}
			memcpy(r->out + r->outlen, p, len);
			r->outlen += len;
			return (len);
		}
		if (r->sink == SINK_CB) {
			if (r->outcb(r->outarg, p, len) == -1) {
				r->ioerr = errno != 0 ? errno : EIO;
				return (0);
			}
			r->written += len;
			return (len);
		}
		if (fd_write_wait(r->outfd, p, len,
		    c->low_speed_s * 1000) == -1) {
			r->ioerr = errno;
			return (0);
		}
		r->written += len;
		return (len);
	}
	/* XML, or the body of an error. */
	max = r->status >= 200 && r->status <= 299 ? S3_XML_MAX : ERR_BODY_MAX;
	if (len > max - c->xmllen) {
		if (max == ERR_BODY_MAX)
			return (len);
		r->toobig = 1;
		return (0);
	}
	if (c->xmllen + len + 1 > c->xmlcap) {
		for (cap = c->xmlcap > 0 ? c->xmlcap : 16384;
		    cap < c->xmllen + len + 1; cap *= 2)
			;
		if ((nx = realloc(c->xml, cap)) == NULL) {
			r->ioerr = ENOMEM;
			return (0);
		}
		c->xml = nx;
		c->xmlcap = cap;
	}
	memcpy(c->xml + c->xmllen, p, len);
	c->xmllen += len;
	c->xml[c->xmllen] = '\0';
	return (len);
}

static size_t
read_cb(char *p, size_t size, size_t n, void *arg)
{
	struct req	*r = arg;
	struct pollfd	 pfd;
	size_t		 want = size * n;
	ssize_t		 got;

	if ((off_t)want > r->len - r->sent)
		want = r->len - r->sent;
	if (want == 0)
		return (0);
	if (r->src == SRC_BUF) {
		memcpy(p, r->buf + r->sent, want);
		r->sent += want;
		return (want);
	}
	for (;;) {
		if (r->seekable)
			got = pread(r->fd, p, want, r->off + r->sent);
		else
			got = read(r->fd, p, want);
		if (got > 0)
			break;
		if (got == 0) {
			r->ioerr = EIO;		/* shorter than said */
			return (CURL_READFUNC_ABORT);
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			r->ioerr = errno;
			return (CURL_READFUNC_ABORT);
		}
		pfd.fd = r->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, r->c->low_speed_s * 1000) == 0) {
			r->ioerr = ETIMEDOUT;
			return (CURL_READFUNC_ABORT);
		}
	}
	r->sent += got;
	return (got);
}

/* libcurl rewinds the body to send it again on a fresh connection. */
static int
seek_cb(void *arg, curl_off_t off, int whence)
{
	struct req	*r = arg;

	if (whence == SEEK_SET && off == r->sent)
		return (CURL_SEEKFUNC_OK);	/* nothing read yet */
	if (whence != SEEK_SET || off < 0 || off > r->len ||
	    (r->src == SRC_FD && !r->seekable))
		return (CURL_SEEKFUNC_CANTSEEK);
	r->sent = off;
	return (CURL_SEEKFUNC_OK);
}

static struct curl_slist *
headers(struct req *r, const char *host, const struct sigv4_signed *s)
{
	struct curl_slist	*l = NULL, *t;
	char			 h[S3_URL_MAX];
	size_t			 i;
	int			 bad = 0;

#define ADD(...) do {							\
	if ((size_t)snprintf(h, sizeof(h), __VA_ARGS__) >= sizeof(h) ||	\
	    (t = curl_slist_append(l, h)) == NULL)			\
		bad = 1;						\
	else								\
		l = t;							\
} while (0)
	ADD("Host: %s", host);
	ADD("x-amz-date: %s", s->amz_date);
	ADD("x-amz-content-sha256: %s", s->content_sha256);
	ADD("Authorization: %s", s->authorization);
	if (r->c->token != NULL)
		ADD("x-amz-security-token: %s", r->c->token);
	for (i = 0; i < r->nhdrs; i++)
		ADD("%s: %s", r->hdrs[i].name, r->hdrs[i].value);
	ADD("Expect:");
	if (r->src == SRC_NONE && strcmp(r->method, "POST") == 0)
		ADD("Content-Type:");
#undef ADD
	if (bad) {
		curl_slist_free_all(l);
		return (NULL);
	}
	return (l);
}

static void
setopts(struct req *r, const char *url, struct curl_slist *hl)
{
	struct s3_conn	*c = r->c;
	CURL		*h = c->curl;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->low_speed_s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
	if (c->ca_pem != NULL) {
		struct curl_blob	 blob;

		blob.data = c->ca_pem;
		blob.len = c->ca_pemlen;
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	} else if (c->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->resolve != NULL)
		curl_easy_setopt(h, CURLOPT_RESOLVE, c->resolve);
	if (r->src != SRC_NONE || strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, r);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, r);
	}
	if (strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)r->len);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->len);
	} else if (strcmp(r->method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
}

/* One try: sign, send, and read the answer into r. */
static int
attempt(struct req *r, struct s3_err *err)
{
	struct s3_conn		*c = r->c;
	struct sigv4_cred	 cred;
	struct sigv4_req	 sr;
	struct sigv4_signed	 s;
	struct sigv4_pair	 sh[MAX_HDRS + 1];
	struct curl_slist	*hl;
	char			 path[S3_KEY_MAX + 128], host[HOST_MAX + 64];
	char			 url[S3_URL_MAX];
	CURLcode		 res;
	long			 nc = 0;
	size_t			 i;

	r->sent = 0;
	r->outlen = 0;
	r->status = 0;
	r->toobig = r->ioerr = 0;
	r->etag[0] = '\0';
	r->clen = -1;
	c->xmllen = 0;
	c->errbuf[0] = '\0';
	if (build(r, path, sizeof(path), host, sizeof(host), url,
	    sizeof(url)) == -1) {
		seterr(err, 0, "BadRequest", "key or query too long", 0,
		    ENAMETOOLONG);
		return (-2);
	}
	cred.access_key = c->access_key;
	cred.secret_key = c->secret_key;
	cred.token = c->token;
	cred.region = c->region;
	cred.service = "s3";
	sh[0].name = "Host";
	sh[0].value = host;
	for (i = 0; i < r->nhdrs; i++)
		sh[i + 1] = r->hdrs[i];
	memset(&sr, 0, sizeof(sr));
	sr.method = r->method;
	sr.path = path;
	sr.query = r->query;
	sr.nquery = r->nquery;
	sr.headers = sh;
	sr.nheaders = r->nhdrs + 1;
	sr.payload = r->payload;
	sr.when = time(NULL);
	if (sigv4_sign(&cred, &sr, &s) == -1) {
		seterr(err, 0, "BadRequest", "cannot sign the request", 0,
		    EINVAL);
		return (-2);
	}
	if ((hl = headers(r, host, &s)) == NULL) {
		explicit_bzero(&s, sizeof(s));
		seterr(err, 0, "NoMemory", "headers", 0, ENOMEM);
		return (-2);
	}
	setopts(r, url, hl);
	res = curl_easy_perform(c->curl);
	if (curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &nc) ==
	    CURLE_OK)
		c->connects += nc;
	curl_slist_free_all(hl);
	explicit_bzero(&s, sizeof(s));
	return (req_answer(r, res, err));
}

static int
curl_transient(CURLcode res)
{
	switch (res) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return (1);
	default:
		return (0);
	}
}

static int
status_errnum(int status)
{
	switch (status) {
	case 400:
	case 416:
		return (EINVAL);
	case 401:
	case 403:
		return (EACCES);
	case 404:
		return (ENOENT);
	case 409:
		return (EBUSY);
	case 411:
	case 413:
		return (EFBIG);
	case 412:
		return (EEXIST);
	case 503:
		return (EAGAIN);
	default:
		return (EIO);
	}
}

/*
 * Classify what came back: 0 on success, -1 on a failure err describes
 * (err->transient set when another try may do), -2 on one never to try
 * again.
 */
static int
req_answer(struct req *r, CURLcode res, struct s3_err *err)
{
	struct s3_conn	*c = r->c;
	char		 code[64];
	int		 t, st = r->status;

	if (res != CURLE_OK) {
		if (r->toobig) {
			seterr(err, st, "TooLarge", "answer over the limit", 0,
			    EFBIG);
			return (-2);
		}
		if (r->ioerr != 0) {
			seterr(err, st, "LocalIO", strerror(r->ioerr), 0,
			    r->ioerr);
			return (-2);
		}
		t = curl_transient(res);
		(void)snprintf(code, sizeof(code), "curl-%d", (int)res);
		seterr(err, 0, code, c->errbuf[0] != '\0' ? c->errbuf :
		    curl_easy_strerror(res), t, res ==
		    CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : res ==
		    CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO);
		return (-1);
	}
	if (st >= 200 && st <= 299 && !(r->may_err200 &&
	    s3xml_error(c->xml != NULL ? c->xml : "", c->xmllen, err) == 0))
		return (0);
	if (st >= 200 && st <= 299)
		st = 500;		/* an <Error> in a 200 */
	else if (st == 404 && c->xmllen == 0)
		seterr(err, st, "NoSuchKey", "not found", 0, ENOENT);
	else if (c->xmllen == 0 || s3xml_error(c->xml, c->xmllen, err) != 0)
		seterr(err, st, st == 412 ? "PreconditionFailed" :
		    "HttpError", "no S3 error in the answer", 0, 0);
	err->http_status = st;
	err->errnum = status_errnum(st);
	err->transient = st == 500 || st == 502 || st == 503 || st == 504 ||
	    strcmp(err->code, "SlowDown") == 0 ||
	    strcmp(err->code, "RequestTimeout") == 0;
	return (-1);
}

/* Sleep before try n (1..): base * 2^(n-1), capped, half of it jitter. */
static void
backoff(struct s3_conn *c, int n)
{
	struct timespec	 ts;
	long		 d = c->retry_base_ms;

	while (--n > 0 && d < c->retry_max_ms)
		d *= 2;
	if (d > c->retry_max_ms)
		d = c->retry_max_ms;
	d = d / 2 + arc4random_uniform(d / 2 + 1);
	ts.tv_sec = d / 1000;
	ts.tv_nsec = (d % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
perform(struct req *r, struct s3_err *err)
{
	struct s3_err	 tmp;
	int		 n, rc;

	if (err == NULL)
		err = &tmp;
	memset(err, 0, sizeof(*err));
	for (n = 0;; n++) {
		if (n > 0)
			backoff(r->c, n);
		r->tries = n + 1;
		if ((rc = attempt(r, err)) == 0) {
			memset(err, 0, sizeof(*err));
			return (0);
		}
		if (rc == -2 || !err->transient || n >= r->c->retries)
			return (-1);
		/* What was handed on or read from a pipe is gone. */
		if (r->written > 0 || (r->src == SRC_FD && !r->seekable &&
		    r->sent > 0))
			return (-1);
	}
}

static int
bad_key(struct s3_err *err)
{
	seterr(err, 0, "BadKey", "empty, too long or control characters", 0,
	    EINVAL);
	return (-1);
}

int
s3_head(struct s3_conn *c, const char *key, struct s3_obj *o,
    struct s3_err *err)
{
	struct req	 r;

	if (!key_ok(key))
		return (bad_key(err));
	req_init(&r, c, "HEAD", key);
	if (perform(&r, err) == -1)
		return (-1);
	memset(o, 0, sizeof(*o));
	strlcpy(o->key, key, sizeof(o->key));
	o->size = r.clen >= 0 ? r.clen : 0;
	strlcpy(o->etag, r.etag, sizeof(o->etag));
	o->mtime = r.mtime;
	return (0);
}

/* The whole object into buf; an object over max fails EFBIG. */
int
s3_get(struct s3_conn *c, const char *key, void *buf, size_t max,
    size_t *len, struct s3_err *err)
{
	struct req	 r;

	if (!key_ok(key))
		return (bad_key(err));
	req_init(&r, c, "GET", key);
	r.sink = SINK_BUF;
	r.out = buf;
	r.outmax = max;
	if (perform(&r, err) == -1)
		return (-1);
	*len = r.outlen;
	return (0);
}

/*
 * len bytes at off into buf (a short read at the end is no error), and
 * the object's mtime when mtime is not NULL.
 */
int
s3_get_range(struct s3_conn *c, const char *key, off_t off, size_t len,
    void *buf, size_t *got, time_t *mtime, struct s3_err *err)
{
	struct req	 r;
	char		 range[64];

	if (!key_ok(key))
		return (bad_key(err));
	if (off < 0 || len == 0) {
		seterr(err, 0, "BadRange", "bad offset or length", 0, EINVAL);
		return (-1);
	}
	req_init(&r, c, "GET", key);
	r.sink = SINK_BUF;
	r.out = buf;
	r.outmax = len;
	(void)snprintf(range, sizeof(range), "bytes=%lld-%lld",
	    (long long)off, (long long)(off + len - 1));
	req_hdr(&r, "Range", range);
	r.range = 1;
	if (perform(&r, err) == -1)
		return (-1);
	*got = r.outlen;
	if (mtime != NULL)
		*mtime = r.mtime;
	return (0);
}

/*
 * A whole object handed to fn as it comes (fn's -1 ends it, its errno
 * kept).  Tried again only while nothing was handed on; *written says
 * how much was.
 */
int
s3_get_cb(struct s3_conn *c, const char *key, s3_data_cb fn, void *arg,
    off_t *written, struct s3_err *err)
{
	struct req	 r;
	int		 rc;

	if (written != NULL)
		*written = 0;
	if (!key_ok(key))
		return (bad_key(err));
	req_init(&r, c, "GET", key);
	r.sink = SINK_CB;
	r.outcb = fn;
	r.outarg = arg;
	rc = perform(&r, err);
	if (written != NULL)
		*written = r.written;
	return (rc);
}

/*
 * len bytes from off (len -1: to the end) written to fd, which may be a
 * non-blocking pipe or socket.  Tried again only while nothing was
 * written; *written says how much was (also on failure).
 */
int
s3_get_range_fd(struct s3_conn *c, const char *key, off_t off, off_t len,
    int fd, off_t *written, struct s3_err *err)
{
	struct req	 r;
	char		 range[64];
	int		 rc;

	if (written != NULL)
		*written = 0;
	if (!key_ok(key))
		return (bad_key(err));
	if (off < 0 || len < -1 || len == 0) {
		seterr(err, 0, "BadRange", "bad offset or length", 0, EINVAL);
		return (-1);
	}
	req_init(&r, c, "GET", key);
	r.sink = SINK_FD;
	r.outfd = fd;
	/* No Range for all of it: "bytes=0-" of an empty object is a 416. */
	r.range = off > 0 || len != -1;
	if (len == -1)
		(void)snprintf(range, sizeof(range), "bytes=%lld-",
		    (long long)off);
	else
		(void)snprintf(range, sizeof(range), "bytes=%lld-%lld",
		    (long long)off, (long long)(off + len - 1));
	if (r.range)
		req_hdr(&r, "Range", range);
	rc = perform(&r, err);
	if (written != NULL)
		*written = r.written;
	return (rc);
}

static int
put_common(struct req *r, struct s3_err *err)
{
	char	 sha[SIGV4_HEX_LEN + 1];

	if (r->src == SRC_BUF) {
		sigv4_sha256_hex(r->buf, r->len, sha);
		r->payload = sha;
	} else
		r->payload = SIGV4_UNSIGNED;
	return (perform(r, err));
}

int
s3_put(struct s3_conn *c, const char *key, const void *buf, size_t len,
    struct s3_err *err)
{
	struct req	 r;

	if (!key_ok(key))
		return (bad_key(err));
	req_init(&r, c, "PUT", key);
	r.src = SRC_BUF;
	r.buf = buf;
	r.len = len;
	return (put_common(&r, err));
}

/* A body of len bytes at off of fd; a pipe is read on, off ignored. */
static int
fd_source(struct req *r, int fd, off_t off, off_t len, struct s3_err *err)
{
	if (fd < 0 || off < 0 || len < 0) {
		seterr(err, 0, "BadRange", "bad descriptor region", 0, EINVAL);
		return (-1);
	}
	r->src = SRC_FD;
	r->fd = fd;
	r->off = off;
	r->len = len;
	r->seekable = lseek(fd, 0, SEEK_CUR) != -1;
	return (0);
}

int
s3_put_fd(struct s3_conn *c, const char *key, int fd, off_t off, off_t len,
    struct s3_err *err)
{
	struct req	 r;

	if (!key_ok(key))
		return (bad_key(err));
	req_init(&r, c, "PUT", key);
	if (fd_source(&r, fd, off, len, err) == -1)
		return (-1);
	return (put_common(&r, err));
}

/*
 * PUT with If-None-Match: *: fails EEXIST (412) when the key exists.  A
 * 412 after a try that got no answer may answer our own first try: if
 * the object holds our bytes (its ETag is their MD5), it is ours.  A
 * lease body must then name its writer uniquely.
 */
int
s3_put_if_absent(struct s3_conn *c, const char *key, const void *buf,
    size_t len, struct s3_err *err)
{
	struct req	 r;
	struct s3_obj	 o;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	char		 hex[2 * EVP_MAX_MD_SIZE + 1];
	int		 rc;

	if (!key_ok(key))
		return (bad_key(err));
	req_init(&r, c, "PUT", key);
	r.src = SRC_BUF;
	r.buf = buf;
	r.len = len;
	req_hdr(&r, "If-None-Match", "*");
	if ((rc = put_common(&r, err)) == 0 || err == NULL ||
	    err->http_status != 412 || r.tries < 2)
		return (rc);
	if (EVP_Digest(buf, len, md, &mdlen, EVP_md5(), NULL) != 1 ||
	    s3_head(c, key, &o, NULL) == -1)
		return (rc);
	for (i = 0; i < mdlen; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(hex, o.etag) == 0 && o.size == (off_t)len) {
		memset(err, 0, sizeof(*err));
		return (0);
	}
	return (rc);
}

int
s3_delete(struct s3_conn *c, const char *key, struct s3_err *err)
{
	struct req	 r;

	if (!key_ok(key))
		return (bad_key(err));
	req_init(&r, c, "DELETE", key);
	return (perform(&r, err));
}

/* Append s to the body, XML-escaped; control characters but tabs and
 * newlines cannot be said in XML 1.0. */
static int
xml_escape(char *out, size_t sz, size_t *len, const char *s)
{
	char		 e[8];
	const char	*a;
	size_t		 n;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			a = "&amp;";
			break;
		case '<':
			a = "&lt;";
			break;
		case '>':
			a = "&gt;";
			break;
		case '"':
			a = "&quot;";
			break;
		case '\'':
			a = "&apos;";
			break;
		default:
			if ((unsigned char)*s < ' ') {
				(void)snprintf(e, sizeof(e), "&#%d;", *s);
				a = e;
			} else {
				e[0] = *s;
				e[1] = '\0';
				a = e;
			}
		}
		n = strlen(a);
		if (n >= sz - *len)
			return (-1);
		memcpy(out + *len, a, n + 1);
		*len += n;
	}
	return (0);
}

static int
body_add(char *out, size_t sz, size_t *len, const char *s)
{
	size_t	 n = strlen(s);

	if (n >= sz - *len)
		return (-1);
	memcpy(out + *len, s, n + 1);
	*len += n;
	return (0);
}

/* A POST of an XML body to key (NULL: the bucket). */
static int
post_xml(struct req *r, const char *body, size_t len, int md5,
    struct s3_err *err)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	char		 sha[SIGV4_HEX_LEN + 1], b64[64];

	r->src = SRC_BUF;
	r->buf = body;
	r->len = len;
	sigv4_sha256_hex(body, len, sha);
	r->payload = sha;
	req_hdr(r, "Content-Type", "application/xml");
	if (md5) {
		if (EVP_Digest(body, len, md, &mdlen, EVP_md5(), NULL) != 1 ||
		    EVP_EncodeBlock((unsigned char *)b64, md, mdlen) <= 0) {
			seterr(err, 0, "NoMemory", "MD5", 0, ENOMEM);
			return (-1);
		}
		req_hdr(r, "Content-MD5", b64);
	}
	return (perform(r, err));
}

/*
 * Delete up to S3_DELETE_MAX keys in one request.  Keys that were not
 * there count as deleted; if some key failed, -1 with the first failure
 * in err (its key at the start of the message).
 */
int
s3_delete_many(struct s3_conn *c, const char *const *keys, size_t n,
    struct s3_err *err)
{
	struct req	 r;
	char		*body;
	size_t		 i, len = 0, sz, nfailed = 0;
	int		 rc = -1;

	if (n == 0)
		return (0);
	if (n > S3_DELETE_MAX) {
		seterr(err, 0, "BadRequest", "too many keys", 0, E2BIG);
		return (-1);
	}
	for (i = 0; i < n; i++)
		if (!key_ok(keys[i]))
			return (bad_key(err));
	sz = 128 + n * (6 * S3_KEY_MAX + 32);
	if ((body = malloc(sz)) == NULL) {
		seterr(err, 0, "NoMemory", strerror(errno), 0, ENOMEM);
		return (-1);
	}
	body_add(body, sz, &len, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Delete><Quiet>true</Quiet>");
	for (i = 0; i < n; i++) {
		body_add(body, sz, &len, "<Object><Key>");
		xml_escape(body, sz, &len, keys[i]);
		body_add(body, sz, &len, "</Key></Object>");
	}
	body_add(body, sz, &len, "</Delete>");
	req_init(&r, c, "POST", NULL);
	req_query(&r, "delete", NULL);
	if (post_xml(&r, body, len, 1, err) == 0) {
		if (s3xml_delete_result(c->xml != NULL ? c->xml : "",
		    c->xmllen, err, &nfailed) != 0)
			seterr(err, 200, "BadAnswer", "DeleteResult", 1, EIO);
		else if (nfailed > 0) {
			err->http_status = 200;
			err->errnum = EIO;
			err->transient = strcmp(err->code, "SlowDown") == 0 ||
			    strcmp(err->code, "InternalError") == 0;
		} else
			rc = 0;
	}
	free(body);
	return (rc);
}

static int
bad_answer(struct s3_conn *c, int rc, struct s3_err *err)
{
	if (rc == -3) {
		seterr(err, 200, "Stopped", "stopped by the callback", 0,
		    ECANCELED);
		return (-1);
	}
	if (rc == S3XML_WRONG_ROOT && s3xml_error(c->xml, c->xmllen,
	    err) == 0) {
		err->http_status = 200;
		err->errnum = EIO;
		err->transient = 1;
		return (-1);
	}
	seterr(err, 200, "BadAnswer", "malformed XML in the answer", 0, EIO);
	return (-1);
}

/* One page of ListObjectsV2; l->token and l->truncated lead on. */
int
s3_list_page(struct s3_conn *c, struct s3_list *l, s3_obj_cb cb, void *arg,
    struct s3_err *err)
{
	struct req	 r;
	char		 max[16];
	int		 rc;

	if (l->max_keys < 0 || l->max_keys > S3_LIST_MAX) {
		seterr(err, 0, "BadRequest", "max-keys", 0, EINVAL);
		return (-1);
	}
	req_init(&r, c, "GET", NULL);
	req_query(&r, "list-type", "2");
	if (l->prefix != NULL && l->prefix[0] != '\0')
		req_query(&r, "prefix", l->prefix);
	if (l->delimiter != NULL && l->delimiter[0] != '\0')
		req_query(&r, "delimiter", l->delimiter);
	if (l->start_after != NULL && l->start_after[0] != '\0')
		req_query(&r, "start-after", l->start_after);
	if (l->token[0] != '\0')
		req_query(&r, "continuation-token", l->token);
	if (l->max_keys > 0) {
		(void)snprintf(max, sizeof(max), "%d", l->max_keys);
		req_query(&r, "max-keys", max);
	}
	if (perform(&r, err) == -1)
		return (-1);
	if ((rc = s3xml_list(c->xml != NULL ? c->xml : "", c->xmllen, l, cb,
	    arg)) != 0)
		return (bad_answer(c, rc, err));
	return (0);
}

/* "/bucket/key", encoded, for x-amz-copy-source. */
static int
copy_source(struct s3_conn *c, const char *key, char *out, size_t sz)
{
	char	 raw[S3_KEY_MAX + 128];
	int	 n;

	n = snprintf(raw, sizeof(raw), "/%s/%s", c->bucket, key);
	if (n < 0 || (size_t)n >= sizeof(raw))
		return (-1);
	return (sigv4_uri_encode(raw, 1, out, sz));
}

/* Copy src to dst in the bucket (up to 5 GiB: S3's limit). */
int
s3_copy(struct s3_conn *c, const char *src, const char *dst,
    struct s3_err *err)
{
	struct req	 r;
	char		 cs[3 * S3_KEY_MAX + 256], etag[S3_ETAG_MAX + 1];
	int		 rc;

	if (!key_ok(src) || !key_ok(dst))
		return (bad_key(err));
	if (copy_source(c, src, cs, sizeof(cs)) == -1)
		return (bad_key(err));
	req_init(&r, c, "PUT", dst);
	r.src = SRC_BUF;
	r.buf = "";
	r.len = 0;
	req_hdr(&r, "x-amz-copy-source", cs);
	r.may_err200 = 1;
	if (put_common(&r, err) == -1)
		return (-1);
	if ((rc = s3xml_copy_etag(c->xml != NULL ? c->xml : "", c->xmllen,
	    etag, sizeof(etag))) != 0)
		return (bad_answer(c, rc, err));
	return (0);
}

int
s3_mp_create(struct s3_conn *c, const char *key, char *id, size_t idsz,
    struct s3_err *err)
{
	struct req	 r;
	int		 rc;

	if (!key_ok(key))
		return (bad_key(err));
	req_init(&r, c, "POST", key);
	req_query(&r, "uploads", NULL);
	if (perform(&r, err) == -1)
		return (-1);
	if ((rc = s3xml_upload_id(c->xml != NULL ? c->xml : "", c->xmllen, id,
	    idsz)) != 0)
		return (bad_answer(c, rc, err));
	return (0);
}

static int
part_ok(const char *key, const char *id, int num, struct s3_err *err)
{
	if (!key_ok(key))
		return (bad_key(err));
	if (id == NULL || id[0] == '\0' || strlen(id) > S3_UPLOAD_ID_MAX ||
	    num < 1 || num > S3_PARTS_MAX) {
		seterr(err, 0, "BadRequest", "upload id or part number", 0,
		    EINVAL);
		return (-1);
	}
	return (0);
}

static int
part_put(struct req *r, int num, struct s3_part *p, struct s3_err *err)
{
	char	 n[16];

	(void)snprintf(n, sizeof(n), "%d", num);
	req_query(r, "partNumber", n);
	if (put_common(r, err) == -1)
		return (-1);
	if (r->etag[0] == '\0') {
		seterr(err, r->status, "BadAnswer", "no ETag for the part", 0,
		    EIO);
		return (-1);
	}
	memset(p, 0, sizeof(*p));
	p->number = num;
	p->size = r->len;
	strlcpy(p->etag, r->etag, sizeof(p->etag));
	return (0);
}

int
s3_mp_put_part(struct s3_conn *c, const char *key, const char *id, int num,
    const void *buf, size_t len, struct s3_part *p, struct s3_err *err)
{
	struct req	 r;

	if (part_ok(key, id, num, err) == -1)
		return (-1);
	req_init(&r, c, "PUT", key);
	req_query(&r, "uploadId", id);
	r.src = SRC_BUF;
	r.buf = buf;
	r.len = len;
	return (part_put(&r, num, p, err));
}

int
s3_mp_put_part_fd(struct s3_conn *c, const char *key, const char *id,
    int num, int fd, off_t off, off_t len, struct s3_part *p,
    struct s3_err *err)
{
	struct req	 r;

	if (part_ok(key, id, num, err) == -1)
		return (-1);
	req_init(&r, c, "PUT", key);
	req_query(&r, "uploadId", id);
	if (fd_source(&r, fd, off, len, err) == -1)
		return (-1);
	return (part_put(&r, num, p, err));
}

/* Part num copied from src: len bytes at off, or all of it (len -1). */
int
s3_mp_copy_part(struct s3_conn *c, const char *key, const char *id, int num,
    const char *src, off_t off, off_t len, struct s3_part *p,
    struct s3_err *err)
{
	struct req	 r;
	char		 cs[3 * S3_KEY_MAX + 256], range[64], n[16];
	int		 rc;

	if (part_ok(key, id, num, err) == -1)
		return (-1);
	if (!key_ok(src) || copy_source(c, src, cs, sizeof(cs)) == -1)
		return (bad_key(err));
	if (off < 0 || len < -1 || len == 0 || (len == -1 && off != 0)) {
		seterr(err, 0, "BadRange", "bad offset or length", 0, EINVAL);
		return (-1);
	}
	req_init(&r, c, "PUT", key);
	(void)snprintf(n, sizeof(n), "%d", num);
	req_query(&r, "partNumber", n);
	req_query(&r, "uploadId", id);
	r.src = SRC_BUF;
	r.buf = "";
	req_hdr(&r, "x-amz-copy-source", cs);
	if (len != -1) {
		(void)snprintf(range, sizeof(range), "bytes=%lld-%lld",
		    (long long)off, (long long)(off + len - 1));
		req_hdr(&r, "x-amz-copy-source-range", range);
	}
	r.may_err200 = 1;
	if (put_common(&r, err) == -1)
		return (-1);
	memset(p, 0, sizeof(*p));
	p->number = num;
	p->size = len;
	if ((rc = s3xml_copy_etag(c->xml != NULL ? c->xml : "", c->xmllen,
	    p->etag, sizeof(p->etag))) != 0)
		return (bad_answer(c, rc, err));
	return (0);
}

/*
 * Complete with the parts given, in increasing order.  RGW 16 answers an
 * empty ETag here: s3_head() has the object's.
 */
int
s3_mp_complete(struct s3_conn *c, const char *key, const char *id,
    const struct s3_part *parts, size_t n, struct s3_err *err)
{
	struct req	 r;
	char		*body, num[16];
	size_t		 i, len = 0, sz;
	int		 rc = -1, bad = 0;

	if (part_ok(key, id, 1, err) == -1)
		return (-1);
	if (n == 0 || n > S3_PARTS_MAX) {
		seterr(err, 0, "BadRequest", "number of parts", 0, EINVAL);
		return (-1);
	}
	sz = 128 + n * (6 * S3_ETAG_MAX + 64);
	if ((body = malloc(sz)) == NULL) {
		seterr(err, 0, "NoMemory", strerror(errno), 0, ENOMEM);
		return (-1);
	}
	body_add(body, sz, &len, "<CompleteMultipartUpload>");
	for (i = 0; i < n; i++) {
		if (parts[i].number < 1 || parts[i].number > S3_PARTS_MAX ||
		    (i > 0 && parts[i].number <= parts[i - 1].number))
			bad = 1;
		(void)snprintf(num, sizeof(num), "%d", parts[i].number);
		body_add(body, sz, &len, "<Part><PartNumber>");
		body_add(body, sz, &len, num);
		body_add(body, sz, &len, "</PartNumber><ETag>&quot;");
		bad |= xml_escape(body, sz, &len, parts[i].etag) == -1;
		body_add(body, sz, &len, "&quot;</ETag></Part>");
	}
	body_add(body, sz, &len, "</CompleteMultipartUpload>");
	if (bad) {
		seterr(err, 0, "BadRequest", "part numbers", 0, EINVAL);
		free(body);
		return (-1);
	}
	req_init(&r, c, "POST", key);
	req_query(&r, "uploadId", id);
	r.may_err200 = 1;
	if (post_xml(&r, body, len, 0, err) == 0) {
		if ((rc = s3xml_complete(c->xml != NULL ? c->xml : "",
		    c->xmllen)) != 0)
			rc = bad_answer(c, rc, err);
	}
	free(body);
	return (rc);
}

int
s3_mp_abort(struct s3_conn *c, const char *key, const char *id,
    struct s3_err *err)
{
	struct req	 r;

	if (part_ok(key, id, 1, err) == -1)
		return (-1);
	req_init(&r, c, "DELETE", key);
	req_query(&r, "uploadId", id);
	return (perform(&r, err));
}

/* Every part of an upload, page after page. */
int
s3_mp_list_parts(struct s3_conn *c, const char *key, const char *id,
    s3_part_cb cb, void *arg, struct s3_err *err)
{
	struct req	 r;
	char		 marker[16];
	int		 rc, truncated = 1, next = 0, prev, pages;

	if (part_ok(key, id, 1, err) == -1)
		return (-1);
	for (pages = 0; truncated; pages++) {
		if (pages > S3_PARTS_MAX) {
			seterr(err, 200, "BadAnswer", "endless part list", 0,
			    EIO);
			return (-1);
		}
		req_init(&r, c, "GET", key);
		req_query(&r, "uploadId", id);
		if (next > 0) {
			(void)snprintf(marker, sizeof(marker), "%d", next);
			req_query(&r, "part-number-marker", marker);
		}
		if (perform(&r, err) == -1)
			return (-1);
		prev = next;
		if ((rc = s3xml_parts(c->xml != NULL ? c->xml : "", c->xmllen,
		    cb, arg, &truncated, &next)) != 0)
			return (bad_answer(c, rc, err));
		if (truncated && next <= prev) {
			seterr(err, 200, "BadAnswer", "part marker went back",
			    0, EIO);
			return (-1);
		}
	}
	return (0);
}

/* Every multipart upload under prefix, page after page. */
int
s3_mp_list_uploads(struct s3_conn *c, const char *prefix, s3_upload_cb cb,
    void *arg, struct s3_err *err)
{
	struct req	 r;
	char		 key[S3_KEY_MAX + 1], id[S3_UPLOAD_ID_MAX + 1];
	char		 nkey[S3_KEY_MAX + 1], nid[S3_UPLOAD_ID_MAX + 1];
	int		 rc, truncated = 1, pages;

	key[0] = id[0] = '\0';
	for (pages = 0; truncated; pages++) {
		if (pages > 100000) {
			seterr(err, 200, "BadAnswer", "endless upload list", 0,
			    EIO);
			return (-1);
		}
		req_init(&r, c, "GET", NULL);
		req_query(&r, "uploads", NULL);
		if (prefix != NULL && prefix[0] != '\0')
			req_query(&r, "prefix", prefix);
		if (key[0] != '\0')
			req_query(&r, "key-marker", key);
		if (id[0] != '\0')
			req_query(&r, "upload-id-marker", id);
		if (perform(&r, err) == -1)
			return (-1);
		if ((rc = s3xml_uploads(c->xml != NULL ? c->xml : "",
		    c->xmllen, cb, arg, &truncated, nkey, sizeof(nkey), nid,
		    sizeof(nid))) != 0)
			return (bad_answer(c, rc, err));
		if (truncated && strcmp(nkey, key) == 0 &&
		    strcmp(nid, id) == 0) {
			seterr(err, 200, "BadAnswer", "upload marker stuck", 0,
			    EIO);
			return (-1);
		}
		strlcpy(key, nkey, sizeof(key));
		strlcpy(id, nid, sizeof(id));
	}
	return (0);
}

/* A URL that GETs key for expires seconds without credentials. */
int
s3_presign_get(struct s3_conn *c, const char *key, unsigned int expires,
    char *url, size_t sz, struct s3_err *err)
{
	struct req		 r;
	struct sigv4_cred	 cred;
	struct sigv4_req	 sr;
	struct sigv4_pair	 h;
	char			 path[S3_KEY_MAX + 128], host[HOST_MAX + 64];
	char			 q[SIGV4_MAX_CANON];

	if (!key_ok(key))
		return (bad_key(err));
	req_init(&r, c, "GET", key);
	cred.access_key = c->access_key;
	cred.secret_key = c->secret_key;
	cred.token = c->token;
	cred.region = c->region;
	cred.service = "s3";
	h.name = "Host";
	h.value = host;
	memset(&sr, 0, sizeof(sr));
	sr.method = "GET";
	sr.path = path;
	sr.headers = &h;
	sr.nheaders = 1;
	sr.when = time(NULL);
	if (build(&r, path, sizeof(path), host, sizeof(host), url, sz) == -1 ||
	    sigv4_presign(&cred, &sr, expires, q, sizeof(q)) == -1 ||
	    strlcat(url, "?", sz) >= sz || strlcat(url, q, sz) >= sz) {
		seterr(err, 0, "BadRequest", "cannot presign", 0, EINVAL);
		return (-1);
	}
	return (0);
}
