/*
 * The fetcher: mirror mode's only process that talks to upstream
 * registries.  It parses what hostile upstreams send, so it holds
 * nothing else: no blob directory, no listener, no client; storage asks
 * it for a manifest or a blob (MIR_FETCH) and gets the upstream's
 * status and bytes back (MIR_HEAD, MIR_DATA, MIR_END; a plain blob
 * body mostly down a pipe it hands storage, MIR_PIPE), which storage
 * alone hashes and stores.  HTTP/1.1 on libevent's evhttp client, TLS
 * from bufferevent_openssl; names resolve with evdns, its servers and
 * /etc/hosts read before the chroot.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "regd.h"

#define FETCH_REDIRECTS	5
#define FETCH_RETRIES	2	/* on connection errors, with backoff */
#define FETCH_BACKOFF	250000	/* us before the first retry */
#define FETCH_HIWAT	(8 * 1024 * 1024)	/* storage behind: pause */
#define FETCH_LOWAT	(1024 * 1024)
#define FETCH_MAXHEADERS	(64 * 1024)
#define FETCH_READ	(512 * 1024)	/* bytes per read of a body */
#define FETCH_IOV	16		/* pieces of one MIR_DATA */
#define FETCH_RCVLOWAT	(256 * 1024)	/* bytes a wakeup waits for */
#define FETCH_MARGIN	(64 * 1024)	/* over what TLS may hold back */
#define FETCH_TLSBUF	(256 * 1024)	/* TLS records read at once */
#define FETCH_PIPE	(1024 * 1024)	/* the pipe to storage holds */
#define NTOKENS		8
#define TOKEN_MAX	16384

/* Address classes a redirect may not lead to (addr_class). */
#define NET_PUBLIC	0x00
#define NET_LOOPBACK	0x01	/* 127/8, ::1 */
#define NET_PRIVATE	0x02	/* RFC 1918, 100.64/10, fc00::/7 */
#define NET_LINKLOCAL	0x04	/* 169.254/16 (metadata), fe80::/10 */
#define NET_OTHER	0x08	/* 0/8, ::, multicast, reserved */

struct token {
	char		*scope;
	char		*value;
	time_t		 expires;
};

struct upstream {
	struct mirror_up	 c;
	int			 tls;
	char			 host[256];
	int			 port;
	SSL_CTX			*ctx;
	int			 active;
	TAILQ_HEAD(, fetch)	 queue;
	struct token		 tokens[NTOKENS];
	int			 ntok;
	int			 basic;		/* it takes Basic */
	int			 nets;	/* NET_* its url resolved to */
};

struct fetch {
	TAILQ_ENTRY(fetch)	 entry;
	uint32_t		 id;
	struct mir_fetch	 f;
	struct upstream		*up;
	int			 running;
	int			 head;		/* HEAD before GET */
	int			 redirects;
	int			 authtries;
	int			 retries;
	int			 timedout;	/* no retry then */
	int			 sent_head;	/* MIR_HEAD went out */
	int			 paused;
	int			 lowat;		/* SO_RCVLOWAT set */
	int			 raw;		/* body read here */
	int			 rawfd;		/* evhttp's socket */
	SSL			*ssl;		/* its TLS, or NULL */
	int			 spfd;		/* plain: pipe to storage */
	struct evhttp_request	*req;		/* in flight */
	struct event		 ev_raw;
	char			*auth;		/* Authorization */
	char			*url;		/* after a redirect */
	char			*scope;		/* of the token */
	int			 tokenreq;	/* getting a token */
	struct evhttp_connection *evcon;
	struct evdns_getaddrinfo_request *dnsreq;
	int			 tls, port;	/* of this request */
	char			 host[256];
	char			 path[1024];
	struct evbuffer		*pending;	/* body not sent yet */
	int64_t			 size;
	int64_t			 got;
	struct event		 ev_retry;
	time_t			 since;		/* held: when it came */
};
TAILQ_HEAD(fetchq, fetch);

static struct chan		 parent_chan, logger_chan, storage_chan;
static struct upstream		 ups[MAX_UPSTREAMS];
static int			 nups, nups_new;
static struct mirror_up		 confs_new[MAX_UPSTREAMS];
static struct fetchq		 running = TAILQ_HEAD_INITIALIZER(running);
/*
 * Fetches naming an upstream this process has not been told of yet:
 * storage's channel and the parent's are read in no set order, so a
 * fetch may come before the upstream list at start-up or after a
 * reload.  Held for HELD_SECS, tried again at each list, then refused.
 */
#define HELD_SECS	3
static struct fetchq		 held = TAILQ_HEAD_INITIALIZER(held);
static struct event		 ev_held;
static struct evdns_base	*dns;
static SSL_CTX			*default_ctx;

static void	 fetch_go(struct fetch *);
static void	 fetch_route(struct fetch *);
static void	 fetch_error(enum evhttp_request_error, void *);
static void	 fetch_done(struct evhttp_request *, void *);
static void	 fetcher_end(struct fetch *, int, const char *);
static void	 fetch_next(struct upstream *);
static void	 raw_start(int, short, void *);
static unsigned char		 rawbuf[MSG_MAXPAYLOAD];

/* A TLS context with the system's CA bundle and the upstream's CA. */
static SSL_CTX *
ctx_new(const char *ca)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return (NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Read now, whole: the chroot has no /etc/ssl. */
	if (SSL_CTX_load_verify_locations(ctx, X509_get_default_cert_file(),
	    NULL) != 1)
		log_debug("fetcher: no system CA bundle %s",
		    X509_get_default_cert_file());
	if (ca != NULL && ca[0] != '\0' &&
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		log_warnx("fetcher: cannot load ca file %s", ca);
		SSL_CTX_free(ctx);
		return (NULL);
	}
	return (ctx);
}

/* scheme://host[:port] of url into its parts. */
static int
split_url(const char *url, int *tls, char *host, size_t hlen, int *port,
    const char **rest)
{
	struct evhttp_uri	*u;
	const char		*h, *s;
	int			 rv = -1;

	if ((u = evhttp_uri_parse(url)) == NULL)
		return (-1);
	s = evhttp_uri_get_scheme(u);
	h = evhttp_uri_get_host(u);
	if (s != NULL && h != NULL && h[0] != '\0' &&
	    (strcmp(s, "https") == 0 || strcmp(s, "http") == 0) &&
	    strlcpy(host, h + (h[0] == '['), hlen) < hlen) {
		if (h[0] == '[')
			host[strcspn(host, "]")] = '\0';	/* IPv6 */
		*tls = strcmp(s, "https") == 0;
		*port = evhttp_uri_get_port(u);
		if (*port <= 0)
			*port = *tls ? 443 : 80;
		rv = 0;
	}
	if (rest != NULL) {
		/* The path and query as sent: after the authority. */
		*rest = strchr(url + strlen(s != NULL ? s : "") + 3, '/');
		if (*rest == NULL)
			*rest = "/";
	}
	evhttp_uri_free(u);
	return (rv);
}

/* The upstream list of MIR_CONF, taken whole at MIR_CONF_END. */
static void
upstreams_set(void)
{
	struct upstream	*u;
	int		 i, j;

	for (i = 0; i < nups_new; i++) {
		u = NULL;
		for (j = 0; j < nups; j++)
			if (strcmp(ups[j].c.name, confs_new[i].name) == 0)
				u = &ups[j];
		if (u == NULL) {
			if (nups == MAX_UPSTREAMS)
				continue;
			u = &ups[nups++];
			TAILQ_INIT(&u->queue);
		}
		if (strcmp(u->c.url, confs_new[i].url) != 0)
			u->nets = 0;
		u->c = confs_new[i];
		explicit_bzero(&confs_new[i], sizeof(confs_new[i]));
		if (split_url(u->c.url, &u->tls, u->host, sizeof(u->host),
		    &u->port, NULL) == -1)
			log_warnx("upstream %s: bad url", u->c.name);
		if (u->ctx == NULL && u->c.ca[0] != '\0')
			log_warnx("upstream %s: its ca file is read at "
			    "start-up only; restart regd", u->c.name);
	}
	nups_new = 0;
}

/* The list came: held fetches go on, or wait out their time. */
static void
held_retry(void)
{
	struct fetchq	 q = TAILQ_HEAD_INITIALIZER(q);
	struct fetch	*f;

	TAILQ_CONCAT(&q, &held, entry);
	while ((f = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, f, entry);
		fetch_route(f);
	}
}

static void
held_cb(int fd, short event, void *arg)
{
	held_retry();
}

static struct upstream *
upstream_find(const char *name)
{
	int	 i;

	for (i = 0; i < nups; i++)
		if (strcmp(ups[i].c.name, name) == 0 && ups[i].host[0] != '\0')
			return (&ups[i]);
	return (NULL);
}

static struct token *
token_find(struct upstream *u, const char *scope)
{
	int	 i;

	for (i = 0; i < u->ntok; i++)
		if (strcmp(u->tokens[i].scope, scope) == 0 &&
		    u->tokens[i].expires > time(NULL))
			return (&u->tokens[i]);
	return (NULL);
}

static void
token_put(struct upstream *u, const char *scope, const char *value,
    int64_t ttl)
{
	struct token	*t;
	int		 i;

	for (i = 0; i < u->ntok; i++)
		if (strcmp(u->tokens[i].scope, scope) == 0)
			break;
	if (i == u->ntok) {
		if (u->ntok < NTOKENS)
			u->ntok++;
		else
			i = arc4random_uniform(NTOKENS);
	}
	t = &u->tokens[i];
	free(t->scope);
	free(t->value);
	t->scope = strdup(scope);
	t->value = strdup(value);
	if (t->scope == NULL || t->value == NULL)
		fatal("%s", __func__);
	/* Used until a little before it expires. */
	t->expires = time(NULL) + (ttl > 30 ? ttl - 10 : ttl);
}

static char *
basic_auth(const struct upstream *u)
{
	char		 plain[520], *out;
	size_t		 n;

	n = snprintf(plain, sizeof(plain), "%s:%s", u->c.user, u->c.pass);
	if ((out = malloc(6 + 4 * ((n + 2) / 3) + 1)) == NULL)
		fatal("%s", __func__);
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (unsigned char *)plain,
	    n);
	explicit_bzero(plain, sizeof(plain));
	return (out);
}

/* One quoted parameter of a WWW-Authenticate challenge. */
static int
challenge_param(const char *h, const char *key, char *out, size_t len)
{
	const char	*p = h, *e;
	size_t		 klen = strlen(key);

	while ((p = strstr(p, key)) != NULL) {
		if ((p == h || p[-1] == ' ' || p[-1] == ',') &&
		    strncmp(p + klen, "=\"", 2) == 0) {
			p += klen + 2;
			if ((e = strchr(p, '"')) == NULL ||
			    (size_t)(e - p) >= len)
				return (-1);
			memcpy(out, p, e - p);
			out[e - p] = '\0';
			return (0);
		}
		p += klen;
	}
	return (-1);
}

static void
send_head(struct fetch *f, int status, int64_t size, const char *digest,
    const char *ctype, const char *msg)
{
	struct mir_head	 h;

	memset(&h, 0, sizeof(h));
	h.status = status;
	h.size = size;
	if (digest != NULL)
		strlcpy(h.digest, digest, sizeof(h.digest));
	if (ctype != NULL)
		strlcpy(h.mediatype, ctype, sizeof(h.mediatype));
	if (msg != NULL)
		strlcpy(h.message, msg, sizeof(h.message));
	f->sent_head = 1;
	chan_send(&storage_chan, MIR_HEAD, f->id, -1, &h, sizeof(h));
}

/*
 * Body bytes to storage in messages as large as a message may be, all
 * that is left at the end.  Sent from the evbuffer's own chains: no copy
 * here when the channel is not behind.
 */
static void
fetch_flush(struct fetch *f, int all)
{
	struct evbuffer_iovec	 v[FETCH_IOV];
	struct iovec		 iov[FETCH_IOV];
	size_t			 n, len;
	int			 i, cnt;

	while ((n = evbuffer_get_length(f->pending)) >= MSG_MAXPAYLOAD ||
	    (all && n > 0)) {
		if (n > MSG_MAXPAYLOAD)
			n = MSG_MAXPAYLOAD;
		cnt = evbuffer_peek(f->pending, n, NULL, v, FETCH_IOV);
		if (cnt > FETCH_IOV)
			cnt = FETCH_IOV;
		for (i = 0, len = 0; i < cnt && len < n; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len;
			if (len + iov[i].iov_len > n)
				iov[i].iov_len = n - len;
			len += iov[i].iov_len;
		}
		chan_sendv(&storage_chan, MIR_DATA, f->id, -1, iov, i);
		evbuffer_drain(f->pending, len);
	}
}

/*
 * Wake up for a body's bytes in large reads, not for each segment: the
 * socket is readable once FETCH_RCVLOWAT bytes wait, less near the end (a
 * kept-alive connection sends no end).  The margin covers what a TLS
 * layer may have read ahead of what it handed on.
 */
static void
fetch_lowat(struct fetch *f)
{
	int64_t	 left;
	int	 lw, fd;

	if (f->size < 0)
		return;
	left = f->size - f->got - FETCH_MARGIN;
	lw = left > FETCH_RCVLOWAT ? FETCH_RCVLOWAT : left > 1 ? left : 1;
	if (lw == f->lowat)
		return;
	if (f->rawfd != -1)
		fd = f->rawfd;
	else if (f->evcon == NULL || (fd = bufferevent_getfd(
	    evhttp_connection_get_bufferevent(f->evcon))) == -1)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lw, sizeof(lw)) == 0)
		f->lowat = lw;
}

/* A 200 GET: its body as it comes (libevent drains what we leave). */
static void
fetch_body(struct evhttp_request *req, void *arg)
{
	struct fetch	*f = arg;
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	size_t		 n = evbuffer_get_length(in);

	f->got += n;
	if (f->f.max >= 0 && f->got > f->f.max)
		evbuffer_drain(in, n);	/* fetch_done fails it */
	else
		evbuffer_remove_buffer(in, f->pending, n);
	fetch_flush(f, 0);
	fetch_lowat(f);
	if (storage_chan.queued > FETCH_HIWAT && !f->paused &&
	    f->evcon != NULL) {
		f->paused = 1;
		bufferevent_disable(evhttp_connection_get_bufferevent(
		    f->evcon), EV_READ);
	}
}

static void
fetch_drop(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static int
fetch_header(struct evhttp_request *req, void *arg)
{
	struct fetch	*f = arg;
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct timeval	 tv = { 0, 0 };
	const char	*cl, *errstr;

	if (f->tokenreq)
		return (0);	/* bounded by the connection's body limit */
	if (f->head || evhttp_request_get_response_code(req) != 200) {
		/* An error's or a redirect's body is not wanted. */
		evhttp_request_set_chunked_cb(req, fetch_drop);
		return (0);
	}
	f->size = -1;
	if ((cl = evhttp_find_header(h, "Content-Length")) != NULL) {
		f->size = strtonum(cl, 0, INT64_MAX, &errstr);
		if (errstr != NULL)
			f->size = -1;
	}
	/* Too big: its bytes are dropped and fetch_done fails it. */
	send_head(f, 200, f->size, evhttp_find_header(h,
	    "Docker-Content-Digest"), evhttp_find_header(h, "Content-Type"),
	    NULL);
	evhttp_request_set_chunked_cb(req, fetch_body);
	/*
	 * A blob's body of a known length is read here, once evhttp is out
	 * of its callbacks: libevent 2.1 reads 4K at a time (plain) or a
	 * TLS record at a time, handing each on through evhttp.
	 */
	if (f->f.kind == MIRK_BLOB && f->size > 0 &&
	    evhttp_find_header(h, "Transfer-Encoding") == NULL) {
		f->raw = 1;
		f->req = req;
		evtimer_set(&f->ev_raw, raw_start, f);
		evtimer_add(&f->ev_raw, &tv);
	}
	return (0);
}

/*
 * Up to want bytes of a TLS body into rawbuf, record after record until
 * the socket has no more: what came, or -1 with errno (EAGAIN: nothing
 * yet, EIO: the stream failed or ended).
 */
static ssize_t
raw_tls(struct fetch *f, size_t want)
{
	size_t	 got = 0, n;
	int	 e;

	ERR_clear_error();
	while (got < want) {
		if (SSL_read_ex(f->ssl, rawbuf + got, want - got, &n) == 1) {
			got += n;
			continue;
		}
		e = SSL_get_error(f->ssl, 0);
		if (e == SSL_ERROR_WANT_READ && got > 0)
			break;
		errno = e == SSL_ERROR_WANT_READ ? EAGAIN : EIO;
		return (-1);
	}
	return (got);
}

/*
 * Plain HTTP: the socket's bytes spliced into storage's pipe, never
 * through this process's memory.  Waits on whichever side is stuck.
 */
static void
raw_splice(int fd, short ev, void *arg)
{
	struct fetch	*f = arg;
	struct timeval	 tv = { f->up->c.timeout, 0 };
	ssize_t		 n;
	int64_t		 left;
	int		 avail;

	if (ev & EV_TIMEOUT) {
		fetcher_end(f, 502, "upstream timed out");
		return;
	}
	while ((left = f->size - f->got) > 0) {
		n = splice(f->rawfd, NULL, f->spfd, NULL, left > FETCH_PIPE ?
		    FETCH_PIPE : left, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			/* Bytes in the socket: storage's pipe is the full one. */
			event_del(&f->ev_raw);
			if (ioctl(f->rawfd, FIONREAD, &avail) == 0 && avail > 0)
				event_set(&f->ev_raw, f->spfd, EV_WRITE,
				    raw_splice, f);
			else
				event_set(&f->ev_raw, f->rawfd, EV_READ,
				    raw_splice, f);
			event_add(&f->ev_raw, &tv);
			fetch_lowat(f);
			return;
		}
		if (n <= 0) {
			fetcher_end(f, 502, n == 0 ? "upstream body of the "
			    "wrong size" : "cannot pass the body on");
			return;
		}
		f->got += n;
	}
	close(f->spfd);
	f->spfd = -1;
	fetcher_end(f, 0, NULL);
}

/* Plain HTTP: a pipe to storage for the rest of the body; 0 or -1. */
static int
raw_pipe(struct fetch *f)
{
	int	 p[2];

	if (f->ssl != NULL || pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return (-1);
	(void)fcntl(p[1], F_SETPIPE_SZ, FETCH_PIPE);
	/* After what evhttp had read, which went as MIR_DATA. */
	if (chan_send(&storage_chan, MIR_PIPE, f->id, p[0], NULL, 0) == -1) {
		close(p[1]);
		return (-1);
	}
	f->spfd = p[1];
	return (0);
}

/* The body's bytes straight from the socket, in large reads. */
static void
raw_read(int fd, short ev, void *arg)
{
	struct fetch	*f = arg;
	ssize_t		 n;
	size_t		 want;
	int64_t		 left = f->size - f->got;
	struct iovec	 iov;

	if (ev & EV_TIMEOUT) {
		fetcher_end(f, 502, "upstream timed out");
		return;
	}
	while (left > 0) {
		want = left > MSG_MAXPAYLOAD ? MSG_MAXPAYLOAD : left;
		if (f->ssl != NULL)
			n = raw_tls(f, want);
		else if ((n = read(fd, rawbuf, want)) == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			fetcher_end(f, 502, "upstream body of the wrong size");
			return;
		}
		f->got += n;
		left -= n;
		iov.iov_base = rawbuf;
		iov.iov_len = n;
		chan_sendv(&storage_chan, MIR_DATA, f->id, -1, &iov, 1);
		if (storage_chan.queued > FETCH_HIWAT) {
			f->paused = 1;
			event_del(&f->ev_raw);
			return;
		}
		if ((size_t)n < want && f->ssl == NULL)
			break;	/* level-triggered: called again */
	}
	if (left == 0) {
		fetcher_end(f, 0, NULL);
		return;
	}
	fetch_lowat(f);
}

static void
raw_arm(struct fetch *f)
{
	struct timeval	 tv = { f->up->c.timeout, 0 };

	if (f->spfd != -1) {
		raw_splice(f->rawfd, 0, f);
		return;
	}
	event_set(&f->ev_raw, f->rawfd, EV_READ | EV_PERSIST, raw_read, f);
	event_add(&f->ev_raw, &tv);
	/* Bytes TLS read already leave the socket with nothing to say. */
	if (f->ssl != NULL && SSL_has_pending(f->ssl))
		event_active(&f->ev_raw, EV_READ, 1);
}

/*
 * Out of evhttp's callbacks: take what evhttp read already, then read
 * its socket here.  The connection stays evhttp's, idle, and is freed
 * with the fetch (freeing it now would shut the socket down for writing,
 * and a proxy upstream would take that for a client gone).
 */
static void
raw_start(int fd, short ev, void *arg)
{
	struct fetch	*f = arg;
	struct bufferevent *bev;
	struct evbuffer	*in;
	size_t		 n;

	if (f->evcon == NULL || f->req == NULL)
		return;
	bev = evhttp_connection_get_bufferevent(f->evcon);
	bufferevent_disable(bev, EV_READ);
	f->rawfd = bufferevent_getfd(bev);
	if (f->tls && (f->ssl = bufferevent_openssl_get_ssl(bev)) == NULL) {
		fetcher_end(f, 502, "upstream TLS lost");
		return;
	}
	/* Records in one read(2) of up to FETCH_TLSBUF (conn_new). */
	if (f->ssl != NULL)
		SSL_set_read_ahead(f->ssl, 1);
	in = evhttp_request_get_input_buffer(f->req);
	f->got += (n = evbuffer_get_length(in));
	evbuffer_remove_buffer(in, f->pending, n);
	in = bufferevent_get_input(bev);
	f->got += (n = evbuffer_get_length(in));
	evbuffer_remove_buffer(in, f->pending, n);
	f->req = NULL;
	if (f->rawfd == -1 || f->got > f->size) {
		fetcher_end(f, 502, "upstream body of the wrong size");
		return;
	}
	fetch_flush(f, 1);
	f->lowat = 0;
	fetch_lowat(f);
	if (f->got == f->size) {
		fetcher_end(f, 0, NULL);
		return;
	}
	if (f->ssl == NULL && raw_pipe(f) == -1)
		log_debug("fetch %s@%s: no pipe to storage: %s", f->f.repo,
		    f->f.ref, strerror(errno));
	if (storage_chan.queued > FETCH_HIWAT)
		f->paused = 1;
	else
		raw_arm(f);
}

static struct evhttp_connection *
conn_new(struct fetch *f, const char *addr)
{
	struct evhttp_connection *evcon;
	struct bufferevent	*bev;
	struct in6_addr		 a;
	SSL			*ssl;
	SSL_CTX			*ctx = f->up->ctx != NULL ? f->up->ctx :
				    default_ctx;
	int			 ip;

	if (f->tls) {
		if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL)
			return (NULL);
		/* The certificate names the host, not the address. */
		ip = inet_pton(AF_INET, f->host, &a) == 1 ||
		    inet_pton(AF_INET6, f->host, &a) == 1;
		SSL_set_default_read_buffer_len(ssl, FETCH_TLSBUF);
		if (ip)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			    f->host);
		else {
			SSL_set_tlsext_host_name(ssl, f->host);
			SSL_set1_host(ssl, f->host);
		}
		bev = bufferevent_openssl_socket_new(env->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS);
		if (bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else
		bev = bufferevent_socket_new(env->base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return (NULL);
	/* An address already checked: evdns has nothing left to look up. */
	if ((evcon = evhttp_connection_base_bufferevent_new(env->base, dns,
	    bev, addr, f->port)) == NULL)
		return (NULL);
	evhttp_connection_set_timeout(evcon, f->up->c.timeout);
	bufferevent_set_max_single_read(bev, FETCH_READ);
	evhttp_connection_set_max_headers_size(evcon, FETCH_MAXHEADERS);
	if (f->tokenreq)
		evhttp_connection_set_max_body_size(evcon, TOKEN_MAX);
	evhttp_connection_free_on_completion(evcon);
	return (evcon);
}

/* The NET_* class of an address; IPv4 in IPv6 (mapped, NAT64) as IPv4. */
static int
addr_class(const struct sockaddr *sa)
{
	const uint8_t	*b;
	uint32_t	 v4;

	if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if ((b[0] & 0xfe) == 0xfc)
			return (NET_PRIVATE);
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			return (NET_LINKLOCAL);
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
			return (NET_PRIVATE);	/* site-local */
		if (b[0] == 0xff)
			return (NET_OTHER);
		if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 ||
		    memcmp(b, "\0\x64\xff\x9b\0\0\0\0\0\0\0\0", 12) == 0)
			memcpy(&v4, b + 12, 4);
		else if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15) ==
		    0)
			return (b[15] == 1 ? NET_LOOPBACK : NET_OTHER);
		else if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0)
			return (NET_OTHER);	/* IPv4-compatible */
		else
			return (NET_PUBLIC);
	} else if (sa->sa_family == AF_INET)
		v4 = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
	else
		return (NET_OTHER);
	v4 = ntohl(v4);
	if ((v4 >> 24) == 127)
		return (NET_LOOPBACK);
	if ((v4 >> 24) == 10 || (v4 >> 20) == (172 << 4 | 1) ||
	    (v4 >> 16) == (192 << 8 | 168) || (v4 >> 22) == (100 << 2 | 1))
		return (NET_PRIVATE);
	if ((v4 >> 16) == (169 << 8 | 254))
		return (NET_LINKLOCAL);
	if ((v4 >> 24) == 0 || (v4 >> 28) >= 14)
		return (NET_OTHER);	/* 0/8, multicast, reserved */
	return (NET_PUBLIC);
}

static void	 fetch_send(struct fetch *, const char *);

/*
 * The request's host resolved.  The upstream's own url may be anywhere
 * (the operator chose it); a host that the upstream chose (a redirect,
 * a token service) may not be on an internal network (loopback,
 * private, link-local, ...) unless the upstream's url is itself on one
 * of the same class, or the upstream allows it ("redirect private
 * yes").  The address checked is the one connected to.
 */
static void
fetch_resolved(int err, struct evutil_addrinfo *ai, void *arg)
{
	struct fetch		*f = arg;
	struct upstream		*u = f->up;
	struct evutil_addrinfo	*a;
	char			 addr[INET6_ADDRSTRLEN], msg[512];
	int			 c, refused = 0;

	if (err == EVUTIL_EAI_CANCEL)
		return;		/* fetcher_end cancelled it, f is gone */
	f->dnsreq = NULL;
	if (err != 0) {
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		snprintf(msg, sizeof(msg), "cannot resolve %s: %s", f->host,
		    evutil_gai_strerror(err));
		fetcher_end(f, 502, msg);
		return;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		c = addr_class(a->ai_addr);
		if (f->url == NULL)
			u->nets |= c;
		else if (c != NET_PUBLIC && (c & u->nets) == 0 &&
		    !u->c.redirect_private) {
			refused = 1;
			continue;
		}
		/* Not getnameinfo: no interface names in the sandbox. */
		if ((a->ai_family == AF_INET && inet_ntop(AF_INET,
		    &((struct sockaddr_in *)a->ai_addr)->sin_addr, addr,
		    sizeof(addr)) != NULL) || (a->ai_family == AF_INET6 &&
		    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
		    a->ai_addr)->sin6_addr, addr, sizeof(addr)) != NULL))
			break;
	}
	evutil_freeaddrinfo(ai);
	if (a == NULL) {
		if (refused)
			log_warnx("upstream %s: a redirect to %s, an internal "
			    "address, refused", u->c.name, f->host);
		fetcher_end(f, 502, refused ? "upstream redirected to an "
		    "internal address" : "upstream unreachable");
		return;
	}
	fetch_send(f, addr);
}

/* Send (or send again) the request f is at: its host resolved first. */
static void
fetch_go(struct fetch *f)
{
	struct evutil_addrinfo	 hints;
	struct upstream		*u = f->up;
	struct token		*t;
	const char		*rest;
	char			 port[8];

	f->paused = 0;
	f->lowat = 0;
	if (f->url != NULL) {
		if (split_url(f->url, &f->tls, f->host, sizeof(f->host),
		    &f->port, &rest) == -1) {
			fetcher_end(f, 502, "bad redirect from upstream");
			return;
		}
		strlcpy(f->path, rest, sizeof(f->path));
	} else {
		f->tls = u->tls;
		strlcpy(f->host, u->host, sizeof(f->host));
		f->port = u->port;
		snprintf(f->path, sizeof(f->path), "/v2/%s/%s/%s", f->f.repo,
		    f->f.kind == MIRK_BLOB ? "blobs" : "manifests", f->f.ref);
		if (f->auth == NULL && u->basic && u->c.user[0] != '\0')
			f->auth = basic_auth(u);
		if (f->auth == NULL) {
			char	 scope[MAX_NAME + 32];

			snprintf(scope, sizeof(scope), "repository:%s:pull",
			    f->f.repo);
			if ((t = token_find(u, scope)) != NULL &&
			    asprintf(&f->auth, "Bearer %s", t->value) == -1)
				fatal("%s", __func__);
		}
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%d", f->port);
	/* NULL: answered already (f may be gone), or failed (called). */
	f->dnsreq = NULL;
	{
		struct evdns_getaddrinfo_request *r;

		r = evdns_getaddrinfo(dns, f->host, port, &hints,
		    fetch_resolved, f);
		if (r != NULL)
			f->dnsreq = r;
	}
}

static void
fetch_send(struct fetch *f, const char *addr)
{
	struct evhttp_request	*req;
	struct evkeyvalq	*h;
	char			 hosthdr[300];

	if ((f->evcon = conn_new(f, addr)) == NULL) {
		fetcher_end(f, 502, "cannot connect upstream");
		return;
	}
	if ((req = evhttp_request_new(fetch_done, f)) == NULL)
		fatal("%s", __func__);
	evhttp_request_set_header_cb(req, fetch_header);
	evhttp_request_set_error_cb(req, fetch_error);
	h = evhttp_request_get_output_headers(req);
	if ((f->tls && f->port == 443) || (!f->tls && f->port == 80))
		strlcpy(hosthdr, f->host, sizeof(hosthdr));
	else if (strchr(f->host, ':') != NULL)
		snprintf(hosthdr, sizeof(hosthdr), "[%s]:%d", f->host,
		    f->port);
	else
		snprintf(hosthdr, sizeof(hosthdr), "%s:%d", f->host, f->port);
	evhttp_add_header(h, "Host", hosthdr);
	evhttp_add_header(h, "User-Agent", "regd-mirror");
	if (f->f.kind == MIRK_MANIFEST && !f->tokenreq)
		evhttp_add_header(h, "Accept", MT_OCI_INDEX ", "
		    MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_V2);
	/* Credentials go to the upstream itself, never where it sends us. */
	if (f->auth != NULL && (f->url == NULL || f->tokenreq))
		evhttp_add_header(h, "Authorization", f->auth);
	if (evhttp_make_request(f->evcon, req, f->head ? EVHTTP_REQ_HEAD :
	    EVHTTP_REQ_GET, f->path) == -1)
		fetcher_end(f, 502, "cannot send to upstream");
}

static void
fetch_error(enum evhttp_request_error err, void *arg)
{
	struct fetch	*f = arg;

	if (err == EVREQ_HTTP_TIMEOUT)
		f->timedout = 1;
}

static void
fetch_retry_cb(int fd, short ev, void *arg)
{
	fetch_go(arg);
}

/* The answer to a token request: the token, then the first request. */
static void
token_done(struct fetch *f, struct evhttp_request *req)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	json_t		*root, *v;
	json_error_t	 jerr;
	const char	*tok = NULL;
	size_t		 len = evbuffer_get_length(in);
	int64_t		 ttl = 60;

	f->tokenreq = 0;
	free(f->url);
	f->url = NULL;
	free(f->auth);
	f->auth = NULL;
	if (evhttp_request_get_response_code(req) != 200 || len > TOKEN_MAX ||
	    (root = json_loadb((const char *)evbuffer_pullup(in, len), len, 0,
	    &jerr)) == NULL) {
		fetcher_end(f, 401, "upstream token service refused");
		return;
	}
	if ((v = json_object_get(root, "token")) != NULL && json_is_string(v))
		tok = json_string_value(v);
	else if ((v = json_object_get(root, "access_token")) != NULL &&
	    json_is_string(v))
		tok = json_string_value(v);
	if ((v = json_object_get(root, "expires_in")) != NULL &&
	    json_is_integer(v) && json_integer_value(v) > 0)
		ttl = json_integer_value(v);
	if (tok == NULL || tok[0] == '\0' || strcspn(tok, "\r\n ") !=
	    strlen(tok)) {
		json_decref(root);
		fetcher_end(f, 401, "upstream token service gave no token");
		return;
	}
	token_put(f->up, f->scope, tok, ttl);
	if (asprintf(&f->auth, "Bearer %s", tok) == -1)
		fatal("%s", __func__);
	json_decref(root);
	fetch_go(f);
}

/* 401: a Bearer challenge asks for a token; Basic for credentials. */
static void
fetch_auth(struct fetch *f, struct evhttp_request *req)
{
	const char	*www = evhttp_find_header(
			    evhttp_request_get_input_headers(req),
			    "WWW-Authenticate");
	char		 realm[512], service[256], scope[512], *q = NULL;
	struct evkeyvalq params;

	if (www == NULL || f->authtries++ >= 2 || f->url != NULL) {
		fetcher_end(f, 401, "upstream refused the credentials");
		return;
	}
	free(f->auth);
	f->auth = NULL;
	if (strncasecmp(www, "Basic", 5) == 0) {
		if (f->up->c.user[0] == '\0') {
			fetcher_end(f, 401, "upstream asks for credentials and "
			    "none are configured");
			return;
		}
		f->up->basic = 1;
		f->auth = basic_auth(f->up);
		fetch_go(f);
		return;
	}
	if (strncasecmp(www, "Bearer ", 7) != 0 ||
	    challenge_param(www + 7, "realm", realm, sizeof(realm)) == -1) {
		fetcher_end(f, 401, "upstream asks for unknown authentication");
		return;
	}
	if (challenge_param(www + 7, "service", service, sizeof(service)) ==
	    -1)
		service[0] = '\0';
	if (challenge_param(www + 7, "scope", scope, sizeof(scope)) == -1)
		snprintf(scope, sizeof(scope), "repository:%s:pull",
		    f->f.repo);
	TAILQ_INIT(&params);
	{
		char	*es = evhttp_encode_uri(service);
		char	*esc = evhttp_encode_uri(scope);

		if (es == NULL || esc == NULL || asprintf(&q,
		    "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ?
		    "&" : "?", es, esc) == -1)
			fatal("%s", __func__);
		free(es);
		free(esc);
	}
	free(f->url);
	f->url = q;
	free(f->scope);
	if ((f->scope = strdup(scope)) == NULL)
		fatal("%s", __func__);
	f->tokenreq = 1;
	/* Credentials never leave over plain text from a TLS upstream. */
	if (f->up->c.user[0] != '\0' && (!f->up->tls ||
	    strncmp(realm, "https://", 8) == 0))
		f->auth = basic_auth(f->up);
	fetch_go(f);
}

static void
fetch_done(struct evhttp_request *req, void *arg)
{
	struct fetch	*f = arg;
	struct timeval	 tv = { 0, 0 };
	const char	*loc, *d;
	char		 msg[128];
	int		 code;

	f->evcon = NULL;	/* freed on completion */
	code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (code == 0) {
		/* A refused or reset connection is retried, a timeout not. */
		if (!f->sent_head && !f->timedout &&
		    f->retries++ < FETCH_RETRIES) {
			/* 250 ms, then 500 ms: a restart, not an outage. */
			tv.tv_usec = FETCH_BACKOFF << (f->retries - 1);
			evtimer_set(&f->ev_retry, fetch_retry_cb, f);
			evtimer_add(&f->ev_retry, &tv);
			return;
		}
		fetcher_end(f, 502, f->timedout ? "upstream timed out" :
		    "upstream unreachable");
		return;
	}
	if (f->tokenreq) {
		token_done(f, req);
		return;
	}
	if (code == 401) {
		fetch_auth(f, req);
		return;
	}
	if (code == 301 || code == 302 || code == 303 || code == 307 ||
	    code == 308) {
		loc = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Location");
		/* Never from TLS to plain text. */
		if (loc == NULL || f->redirects++ >= FETCH_REDIRECTS ||
		    (strncmp(loc, "https://", 8) != 0 &&
		    (strncmp(loc, "http://", 7) != 0 || f->up->tls ||
		    (f->url != NULL && strncmp(f->url, "https:", 6) == 0)))) {
			fetcher_end(f, 502, "bad redirect from upstream");
			return;
		}
		free(f->url);
		if ((f->url = strdup(loc)) == NULL)
			fatal("%s", __func__);
		fetch_go(f);
		return;
	}
	if (f->head) {
		d = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Docker-Content-Digest");
		if (code == 200 && d != NULL && strcmp(d, f->f.known) == 0) {
			send_head(f, 304, -1, d, NULL, NULL);
			fetcher_end(f, 0, NULL);
			return;
		}
		if (code == 200) {
			f->head = 0;
			fetch_go(f);
			return;
		}
	}
	if (code != 200 || !f->sent_head) {
		snprintf(msg, sizeof(msg), "upstream answered %d", code);
		fetcher_end(f, code == 200 ? 502 : code, msg);
		return;
	}
	if ((f->f.max >= 0 && f->got > f->f.max) ||
	    (f->size >= 0 && f->got != f->size)) {
		fetcher_end(f, 502, "upstream body of the wrong size");
		return;
	}
	fetch_flush(f, 1);
	fetcher_end(f, 0, NULL);
}

/* The fetch is over: status 0 a complete body, else why it failed. */
static void
fetcher_end(struct fetch *f, int status, const char *msg)
{
	struct mir_end	 e;
	struct upstream	*u = f->up;

	if (status != 0 && !f->sent_head)
		send_head(f, status, -1, NULL, NULL, msg);
	if (status != 0 && msg != NULL)
		log_debug("fetch %s %s/%s: %s", u->c.name, f->f.repo,
		    f->f.ref, msg);
	e.status = status;
	chan_send(&storage_chan, MIR_END, f->id, -1, &e, sizeof(e));
	if (f->evcon != NULL)
		evhttp_connection_free(f->evcon);
	if (f->dnsreq != NULL)
		evdns_getaddrinfo_cancel(f->dnsreq);
	if (f->raw)
		event_del(&f->ev_raw);	/* rawfd is evhttp's */
	if (f->spfd != -1)
		close(f->spfd);		/* storage sees it end short */
	if (evtimer_initialized(&f->ev_retry))
		evtimer_del(&f->ev_retry);
	if (f->running) {
		TAILQ_REMOVE(&running, f, entry);
		u->active--;
	} else
		TAILQ_REMOVE(&u->queue, f, entry);
	free(f->auth);
	free(f->url);
	free(f->scope);
	evbuffer_free(f->pending);
	free(f);
	fetch_next(u);
}

/* At most max_conns fetches run per upstream; the others wait. */
static void
fetch_next(struct upstream *u)
{
	struct fetch	*f;

	while (u->active < u->c.max_conns &&
	    (f = TAILQ_FIRST(&u->queue)) != NULL) {
		TAILQ_REMOVE(&u->queue, f, entry);
		TAILQ_INSERT_TAIL(&running, f, entry);
		f->running = 1;
		u->active++;
		fetch_go(f);
	}
}

static void
fetcher_fetch(struct chan *c, struct msg *m, void *arg)
{
	struct fetch	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		fatal("%s", __func__);
	MSG_COPY(m, &f->f);
	f->id = m->hdr.peerid;
	f->rawfd = -1;
	f->spfd = -1;
	if (!MSG_STR_OK(f->f.upstream) || !MSG_STR_OK(f->f.ref) ||
	    !MSG_STR_OK(f->f.known) || !MSG_STR_OK(f->f.repo) ||
	    !valid_name(f->f.repo) || (!valid_digest(f->f.ref) &&
	    (f->f.kind != MIRK_MANIFEST || !valid_tag(f->f.ref))) ||
	    (f->f.kind != MIRK_MANIFEST && f->f.kind != MIRK_BLOB)) {
		free(f);
		proc_peer_fail(c, m, "bad fetch");
		return;
	}
	if ((f->pending = evbuffer_new()) == NULL)
		fatal("%s", __func__);
	f->since = time(NULL);
	fetch_route(f);
}

/* To its upstream's queue, held while the upstream is unknown. */
static void
fetch_route(struct fetch *f)
{
	struct upstream	*u;
	struct timeval	 tv = { 1, 0 };

	if ((u = upstream_find(f->f.upstream)) == NULL &&
	    time(NULL) - f->since < HELD_SECS) {
		TAILQ_INSERT_TAIL(&held, f, entry);
		if (!evtimer_pending(&ev_held, NULL))
			evtimer_add(&ev_held, &tv);
		return;
	}
	if (u == NULL) {
		log_warnx("fetch %s@%s: no upstream %s", f->f.repo, f->f.ref,
		    f->f.upstream);
		evbuffer_free(f->pending);
		chan_send(&storage_chan, MIR_HEAD, f->id, -1,
		    &(struct mir_head){ .status = 502, .size = -1,
		    .message = "no such upstream" }, sizeof(struct mir_head));
		chan_send(&storage_chan, MIR_END, f->id, -1,
		    &(struct mir_end){ 502 }, sizeof(struct mir_end));
		free(f);
		return;
	}
	f->up = u;
	f->head = f->f.kind == MIRK_MANIFEST && f->f.known[0] != '\0';
	TAILQ_INSERT_TAIL(&u->queue, f, entry);
	fetch_next(u);
}

/* Storage caught up: read the upstreams again. */
static void
storage_drained(struct chan *c, void *arg)
{
	struct fetch	*f;

	TAILQ_FOREACH(f, &running, entry)
		if (f->paused && f->rawfd != -1) {
			f->paused = 0;
			raw_arm(f);
		} else if (f->paused && f->evcon != NULL) {
			f->paused = 0;
			bufferevent_enable(evhttp_connection_get_bufferevent(
			    f->evcon), EV_READ);
		}
}

static void
fetcher_conf(struct chan *c, struct msg *m, void *arg)
{
	if (m->hdr.type == MIR_CONF_END) {
		upstreams_set();
		held_retry();
		return;
	}
	if (nups_new == MAX_UPSTREAMS) {
		proc_peer_fail(c, m, "too many upstreams");
		return;
	}
	MSG_COPY(m, &confs_new[nups_new]);
	confs_new[nups_new].name[sizeof(confs_new[0].name) - 1] = '\0';
	confs_new[nups_new].url[sizeof(confs_new[0].url) - 1] = '\0';
	confs_new[nups_new].user[sizeof(confs_new[0].user) - 1] = '\0';
	confs_new[nups_new].pass[sizeof(confs_new[0].pass) - 1] = '\0';
	nups_new++;
	explicit_bzero(m->data, m->len);
}

static const struct msg_rule	 fetcher_rules[] = {
	MR_FIXED(MIR_CONF, PEER(PROC_PARENT), struct mirror_up, MR_NONE,
	    fetcher_conf),
	MR_EMPTY(MIR_CONF_END, PEER(PROC_PARENT), fetcher_conf),
	MR_FIXED(MIR_FETCH, PEER(PROC_STORAGE), struct mir_fetch, MR_NONE,
	    fetcher_fetch),
};

static void
fetcher_closed(struct chan *c, void *arg)
{
	/* The parent or storage gone: nothing to fetch for any more. */
	if (c != &logger_chan)
		exit(0);
	chan_clear(c);
}

static int
fetcher_peer(enum proc_kind k, int instance, int fd)
{
	struct chan	*c;

	switch (k) {
	case PROC_PARENT:
		c = &parent_chan;
		break;
	case PROC_LOGGER:
		c = &logger_chan;
		break;
	case PROC_STORAGE:
		c = &storage_chan;
		break;
	default:
		return (-1);
	}
	if (c->evset)
		return (-1);
	proc_chan(c, k, instance, fd, NULL, fetcher_closed);
	if (k == PROC_LOGGER)
		log_setchan(c, MSG_LOG);
	if (k == PROC_STORAGE) {
		c->lowat = FETCH_LOWAT;
		c->drained = storage_drained;
	}
	return (0);
}

static void
fetcher_sig(int sig, short event, void *arg)
{
	exit(0);
}

void
fetcher_main(struct proc_boot *boot)
{
	struct event	 ev_term, ev_int;
	int		 i;

	/* Before the chroot: name servers, /etc/hosts, CA bundles. */
	if ((dns = evdns_base_new(env->base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL &&
	    (dns = evdns_base_new(env->base, 0)) == NULL)
		fatalx("fetcher: no resolver");
	evdns_base_load_hosts(dns, NULL);
	json_object_seed(0);
	default_ctx = ctx_new(NULL);
	for (i = 0; i < env->conf->nupstreams && i < MAX_UPSTREAMS; i++) {
		ups[i].c = env->conf->upstreams[i];
		TAILQ_INIT(&ups[i].queue);
		if (strncmp(ups[i].c.url, "https:", 6) == 0 ||
		    ups[i].c.ca[0] != '\0')
			ups[i].ctx = ctx_new(ups[i].c.ca);
	}
	nups = i;
	signal(SIGPIPE, SIG_IGN);
	/* Bodies pass in 512K reads: heap reused, not mmap'ed each time. */
	mallopt(M_MMAP_THRESHOLD, 2 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
	evtimer_set(&ev_held, held_cb, NULL);
	signal_set(&ev_term, SIGTERM, fetcher_sig, NULL);
	signal_set(&ev_int, SIGINT, fetcher_sig, NULL);
	signal_add(&ev_term, NULL);
	signal_add(&ev_int, NULL);
	proc_sandbox(boot, env->conf->user);

	proc_listen(boot, fetcher_rules, sizeof(fetcher_rules) /
	    sizeof(fetcher_rules[0]), fetcher_peer);
	chan_send(&parent_chan, MSG_READY, 0, -1, NULL, 0);
	event_dispatch();
	exit(0);
}
