/*
 * headload: a small HTTP/1.1 keep-alive load generator for the bench,
 * for HEAD requests, which wrk 4.1 and h2load cannot time (they wait for
 * a body that never comes).  It also does GET, reading Content-Length
 * bodies, so its figures can be checked against wrk's.
 *
 *	headload [-m method] [-c conns] [-t threads] [-d seconds]
 *	    [-H "Name: value"] http://host:port/path
 *
 * It prints the same line as regress/bench/report.lua:
 *	RESULT requests bytes duration_us errors non2xx p50_us p99_us max_us
 */

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUCKET_US	10		/* latency histogram resolution */
#define NBUCKETS	1000000		/* up to 10 s */
#define BUFSZ		65536

struct conn {
	int		 fd;
	int		 sent;		/* bytes of the request written */
	int64_t		 start;		/* when the request started, us */
	size_t		 have;		/* bytes in buf */
	int64_t		 body_left;	/* body bytes still to read, or -1 */
	char		 buf[BUFSZ];
};

struct worker {
	pthread_t	 thread;
	int		 nconn;
	struct conn	*conns;
	uint32_t	*hist;
	uint64_t	 requests;
	uint64_t	 bytes;
	uint64_t	 errors;
	uint64_t	 non2xx;
	int64_t		 max_us;
};

static struct sockaddr_storage	 addr;
static socklen_t		 addrlen;
static char			 request[4096];
static int			 reqlen;
static int			 is_head;
static int64_t			 deadline;

static int64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static int
conn_open(struct conn *c, int ep)
{
	struct epoll_event	 ev;
	int			 one = 1;

	c->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd == -1)
		return (-1);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, addrlen) == -1 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return (-1);
	}
	c->sent = 0;
	c->have = 0;
	c->body_left = -1;
	c->start = now_us();
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		close(c->fd);
		c->fd = -1;
		return (-1);
	}
	return (0);
}

/*
 * A server may close a keep-alive connection between responses: that is
 * no error, the request is sent again on a new connection.
 */
static void
conn_reset(struct worker *w, struct conn *c, int ep, int clean)
{
	if (!clean)
		w->errors++;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (now_us() < deadline)
		conn_open(c, ep);
}

static void
record(struct worker *w, struct conn *c)
{
	int64_t	 lat;
	size_t	 b;

	lat = now_us() - c->start;
	b = lat / BUCKET_US;
	if (b >= NBUCKETS)
		b = NBUCKETS - 1;
	w->hist[b]++;
	if (lat > w->max_us)
		w->max_us = lat;
	w->requests++;
}

/*
 * Parse what is in the buffer: 1 if a whole response was consumed, 0 if
 * more is needed, -1 on garbage.
 */
static int
parse(struct worker *w, struct conn *c)
{
	char	*end, *p, *line;
	int64_t	 clen = 0;
	size_t	 hlen, take;
	int	 status;

	if (c->body_left >= 0) {
		take = (size_t)c->body_left < c->have ?
		    (size_t)c->body_left : c->have;
		c->body_left -= take;
		memmove(c->buf, c->buf + take, c->have - take);
		c->have -= take;
		return (c->body_left == 0 ? 1 : 0);
	}
	c->buf[c->have] = '\0';
	if ((end = strstr(c->buf, "\r\n\r\n")) == NULL)
		return (c->have >= BUFSZ - 1 ? -1 : 0);
	hlen = end + 4 - c->buf;
	if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1)
		return (-1);
	if (status < 200 || status > 299)
		w->non2xx++;
	for (p = c->buf; p < end; p = line + 2) {
		if ((line = strstr(p, "\r\n")) == NULL)
			break;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			clen = strtoll(p + 15, NULL, 10);
	}
	if (is_head)
		clen = 0;
	memmove(c->buf, c->buf + hlen, c->have - hlen);
	c->have -= hlen;
	c->body_left = clen;
	return (parse(w, c));
}

static void *
work(void *arg)
{
	struct worker		*w = arg;
	struct epoll_event	 evs[256];
	struct epoll_event	 ev;
	struct conn		*c;
	ssize_t			 n;
	int			 ep, i, k, r;

	if ((ep = epoll_create1(0)) == -1)
		return (NULL);
	for (i = 0; i < w->nconn; i++)
		if (conn_open(&w->conns[i], ep) == -1)
			w->errors++;
	while (now_us() < deadline) {
		k = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < k; i++) {
			c = evs[i].data.ptr;
			if (c->fd == -1)
				continue;
			if (c->sent < reqlen && (evs[i].events & EPOLLOUT)) {
				n = write(c->fd, request + c->sent,
				    reqlen - c->sent);
				if (n == -1 && errno != EAGAIN) {
					conn_reset(w, c, ep, 0);
					continue;
				}
				if (n > 0)
					c->sent += n;
				if (c->sent == reqlen) {
					memset(&ev, 0, sizeof(ev));
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				}
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			n = read(c->fd, c->buf + c->have, BUFSZ - 1 - c->have);
			if (n == -1 && errno == EAGAIN)
				continue;
			if (n <= 0) {
				conn_reset(w, c, ep, c->have == 0 &&
				    c->body_left == -1 &&
				    (n == 0 || errno == ECONNRESET));
				continue;
			}
			w->bytes += n;
			c->have += n;
			while ((r = parse(w, c)) == 1) {
				record(w, c);
				c->body_left = -1;
				if (c->have != 0) {
					/* Nothing was pipelined: garbage. */
					r = -1;
					break;
				}
				c->sent = 0;
				c->start = now_us();
				memset(&ev, 0, sizeof(ev));
				ev.events = EPOLLOUT;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				break;
			}
			if (r == -1)
				conn_reset(w, c, ep, 0);
		}
	}
	for (i = 0; i < w->nconn; i++)
		if (w->conns[i].fd != -1)
			close(w->conns[i].fd);
	close(ep);
	return (NULL);
}

static int64_t
percentile(uint64_t *hist, uint64_t total, double pc)
{
	uint64_t	 want, seen = 0;
	size_t		 i;

	if (total == 0)
		return (0);
	want = (uint64_t)(total * pc / 100.0);
	if (want == 0)
		want = 1;
	for (i = 0; i < NBUCKETS; i++) {
		seen += hist[i];
		if (seen >= want)
			return ((int64_t)(i + 1) * BUCKET_US);
	}
	return ((int64_t)NBUCKETS * BUCKET_US);
}

static void
usage(void)
{
	fprintf(stderr, "usage: headload [-m method] [-c conns] [-t threads] "
	    "[-d seconds] [-H header] http://host:port/path\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct addrinfo	 hints, *res;
	struct worker	*ws;
	uint64_t	*hist, req = 0, bytes = 0, err = 0, non2 = 0;
	int64_t		 t0, t1, maxus = 0;
	const char	*method = "HEAD", *hdr = NULL;
	char		 host[256], port[16], *path, *url, *p;
	int		 ch, conns = 64, threads = 2, secs = 5, i;
	size_t		 b;

	while ((ch = getopt(argc, argv, "c:d:H:m:t:")) != -1) {
		switch (ch) {
		case 'c':
			conns = atoi(optarg);
			break;
		case 'd':
			secs = atoi(optarg);
			break;
		case 'H':
			hdr = optarg;
			break;
		case 'm':
			method = optarg;
			break;
		case 't':
			threads = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || conns < 1 || threads < 1 || secs < 1 ||
	    threads > conns)
		usage();
	url = argv[optind];
	if (strncmp(url, "http://", 7) != 0)
		usage();
	url += 7;
	if ((path = strchr(url, '/')) == NULL)
		usage();
	if ((p = memchr(url, ':', path - url)) == NULL ||
	    (size_t)(p - url) >= sizeof(host) ||
	    (size_t)(path - p - 1) >= sizeof(port))
		usage();
	memcpy(host, url, p - url);
	host[p - url] = '\0';
	memcpy(port, p + 1, path - p - 1);
	port[path - p - 1] = '\0';

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL) {
		fprintf(stderr, "headload: cannot resolve %s:%s\n", host, port);
		return (1);
	}
	memcpy(&addr, res->ai_addr, res->ai_addrlen);
	addrlen = res->ai_addrlen;
	freeaddrinfo(res);

	is_head = strcmp(method, "HEAD") == 0;
	reqlen = snprintf(request, sizeof(request),
	    "%s %s HTTP/1.1\r\nHost: %s:%s\r\n%s%s\r\n", method, path, host,
	    port, hdr != NULL ? hdr : "", hdr != NULL ? "\r\n" : "");
	if (reqlen < 0 || (size_t)reqlen >= sizeof(request))
		usage();

	if ((ws = calloc(threads, sizeof(*ws))) == NULL ||
	    (hist = calloc(NBUCKETS, sizeof(*hist))) == NULL)
		return (1);
	t0 = now_us();
	deadline = t0 + (int64_t)secs * 1000000;
	for (i = 0; i < threads; i++) {
		ws[i].nconn = conns / threads + (i < conns % threads ? 1 : 0);
		ws[i].conns = calloc(ws[i].nconn, sizeof(struct conn));
		ws[i].hist = calloc(NBUCKETS, sizeof(uint32_t));
		if (ws[i].conns == NULL || ws[i].hist == NULL)
			return (1);
		if (pthread_create(&ws[i].thread, NULL, work, &ws[i]) != 0)
			return (1);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(ws[i].thread, NULL);
		req += ws[i].requests;
		bytes += ws[i].bytes;
		err += ws[i].errors;
		non2 += ws[i].non2xx;
		if (ws[i].max_us > maxus)
			maxus = ws[i].max_us;
		for (b = 0; b < NBUCKETS; b++)
			hist[b] += ws[i].hist[b];
	}
	t1 = now_us();
	printf("RESULT %llu %llu %lld %llu %llu %lld %lld %lld\n",
	    (unsigned long long)req, (unsigned long long)bytes,
	    (long long)(t1 - t0), (unsigned long long)err,
	    (unsigned long long)non2, (long long)percentile(hist, req, 50),
	    (long long)percentile(hist, req, 99), (long long)maxus);
	return (0);
}
