/*
 * HTTP/1.1: a streaming request parser working on the bufferevent's input
 * and the helpers that write responses.  Bodies are never collected here;
 * they are pumped out piece by piece by whoever wants them.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "regd.h"

#define CHUNK_SIZE_LINE	0
#define CHUNK_DATA	1
#define CHUNK_DATA_CRLF	2
#define CHUNK_TRAILER	3
#define CHUNK_DONE	4
#define CHUNK_LINE_MAX	130	/* a size line with extensions, and CRLF */

static int	 parse_request_line(struct conn *, char *);
static int	 parse_header(struct conn *, char *);
static int	 headers_done(struct conn *);
static int	 http_getline(struct evbuffer *, char **, size_t *, size_t);

const char *
http_status_text(int status)
{
	switch (status) {
	case 100: return ("Continue");
	case 200: return ("OK");
	case 201: return ("Created");
	case 202: return ("Accepted");
	case 204: return ("No Content");
	case 206: return ("Partial Content");
	case 307: return ("Temporary Redirect");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 408: return ("Request Timeout");
	case 411: return ("Length Required");
	case 413: return ("Payload Too Large");
	case 414: return ("URI Too Long");
	case 415: return ("Unsupported Media Type");
	case 416: return ("Range Not Satisfiable");
	case 429: return ("Too Many Requests");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 501: return ("Not Implemented");
	case 503: return ("Service Unavailable");
	case 505: return ("HTTP Version Not Supported");
	default: return ("Unknown");
	}
}

void
http_reset(struct req *r)
{
	free(r->target);
	free(r->ctype);
	free(r->crange);
	free(r->range);
	free(r->host);
	free(r->auth);
	free(r->xff);
	free(r->xfproto);
	free(r->xfhost);
	free(r->ua);
	memset(r, 0, sizeof(*r));
	r->clen = -1;
	r->n = -1;
}

/*
 * Take one line ended by CRLF from the input into a new string (without
 * the CRLF); max bounds the line with its CRLF.  A bare LF ends nothing:
 * it is an error, as is a line longer than max.  Returns 1 with a line, 0
 * when more bytes are needed, -1 out of memory, -2 too long, -3 bare LF.
 */
static int
http_getline(struct evbuffer *in, char **linep, size_t *lenp, size_t max)
{
	struct evbuffer_ptr	 eol;
	size_t			 avail, n;
	char			*line;

	avail = evbuffer_get_length(in);
	eol = evbuffer_search(in, "\n", 1, NULL);
	if (eol.pos == -1)
		return (avail > 0 && avail >= max ? -2 : 0);
	n = (size_t)eol.pos + 1;
	if (n > max)
		return (-2);
	if (n < 2)
		return (-3);
	if ((line = malloc(n)) == NULL)
		return (-1);
	if (evbuffer_remove(in, line, n) != (int)n || line[n - 2] != '\r') {
		free(line);
		return (-3);
	}
	line[n - 2] = '\0';
	*linep = line;
	*lenp = n - 2;
	return (1);
}

/*
 * Read the request line and headers from the input.  Returns 1 when the
 * head is complete, 0 when more bytes are needed and -1 after an error
 * response was queued (the connection closes after it).
 */
int
http_parse_head(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct req		*r = &c->req;
	char			*line;
	size_t			 len, max;
	int			 rv;

	for (;;) {
		/* The head's CRLFs count; the request line's does not. */
		max = r->target == NULL ? c->srv->max_reqline + 2 :
		    c->srv->max_headers - r->hdrbytes;
		switch (http_getline(in, &line, &len, max)) {
		case -1:
			r->keepalive = 0;
			http_error(c, 500, "UNKNOWN", "out of memory");
			return (-1);
		case -2:
			goto too_long;
		case -3:
			goto bad_eol;
		case 0:
			return (0);
		}
		if (memchr(line, '\0', len) != NULL) {
			free(line);
			r->keepalive = 0;
			http_error(c, 400, "UNSUPPORTED", "NUL in request");
			return (-1);
		}
		if (r->target == NULL) {
			if (len == 0 && c->nreqs > 0) {
				/* Tolerate a stray CRLF between requests. */
				free(line);
				continue;
			}
			rv = parse_request_line(c, line);
			free(line);
			if (rv == -1)
				return (-1);
			continue;
		}
		r->hdrbytes += len + 2;
		if (len == 0) {
			free(line);
			return (headers_done(c));
		}
		rv = parse_header(c, line);
		free(line);
		if (rv == -1)
			return (-1);
	}
too_long:
	r->keepalive = 0;
	if (r->target == NULL)
		http_error(c, 414, "UNSUPPORTED", "request line too long");
	else
		http_error(c, 431, "UNSUPPORTED", "request headers too large");
	return (-1);
bad_eol:
	r->keepalive = 0;
	http_error(c, 400, "UNSUPPORTED", "line not ended by CRLF");
	return (-1);
}

static int
parse_request_line(struct conn *c, char *line)
{
	struct req	*r = &c->req;
	char		*method, *target, *version, *p;
	size_t		 i;

	method = line;
	if ((p = strchr(method, ' ')) == NULL)
		goto bad;
	*p++ = '\0';
	target = p;
	if ((p = strchr(target, ' ')) == NULL)
		goto bad;
	*p++ = '\0';
	version = p;
	if (strlen(method) == 0 || strlen(method) >= sizeof(r->method))
		goto bad;
	for (i = 0; method[i] != '\0'; i++)
		if (!isupper((unsigned char)method[i]))
			goto bad;
	if (target[0] != '/')
		goto bad;
	for (p = target; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			goto bad;
	if (strncmp(version, "HTTP/", 5) != 0 || !isdigit((unsigned char)
	    version[5]) || version[6] != '.' ||
	    !isdigit((unsigned char)version[7]) || version[8] != '\0')
		goto bad;
	if (version[5] != '1') {
		r->keepalive = 0;
		http_error(c, 505, "UNSUPPORTED", "only HTTP/1.x is spoken");
		return (-1);
	}
	r->minor = version[7] - '0';
	strlcpy(r->method, method, sizeof(r->method));
	if ((r->target = strdup(target)) == NULL)
		goto bad;
	return (0);
bad:
	r->keepalive = 0;
	http_error(c, 400, "UNSUPPORTED", "malformed request line");
	return (-1);
}

/* A token of RFC 9110: visible characters but delimiters. */
static int
is_token(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return (0);
	return (1);
}

/* Does s hold a control character other than a tab? */
static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') ||
		    (unsigned char)*s == 0x7f)
			return (1);
	return (0);
}

static int
set_once(char **dst, const char *value)
{
	if (*dst != NULL)
		return (-1);
	if ((*dst = strdup(value)) == NULL)
		return (-1);
	return (0);
}

/*
 * Connection is a comma-separated list of tokens: only a whole "close" or
 * "keep-alive" counts, not a word that contains one.  -1 if malformed.
 */
static int
parse_connection(struct req *r, char *value)
{
	char	*tok, *end;

	while ((tok = strsep(&value, ",")) != NULL) {
		tok += strspn(tok, " \t");
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*tok == '\0')
			continue;
		if (!is_token(tok))
			return (-1);
		if (strcasecmp(tok, "close") == 0)
			r->conn_close = 1;
		else if (strcasecmp(tok, "keep-alive") == 0)
			r->conn_keepalive = 1;
	}
	return (0);
}

static int
parse_header(struct conn *c, char *line)
{
	struct req	*r = &c->req;
	char		*name, *value, *end;
	const char	*errstr;

	if (++r->nheaders > c->srv->max_nheaders) {
		r->keepalive = 0;
		http_error(c, 431, "UNSUPPORTED", "too many headers");
		return (-1);
	}
	if (line[0] == ' ' || line[0] == '\t')
		goto bad;	/* obsolete line folding */
	name = line;
	if ((value = strchr(line, ':')) == NULL || value == name)
		goto bad;
	*value++ = '\0';
	if (!is_token(name))
		goto bad;
	/* No control character but a tab in a value: no CR, LF or NUL. */
	if (has_ctl(value))
		goto bad;
	value += strspn(value, " \t");
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';

	if (strcasecmp(name, "Content-Length") == 0) {
		int64_t	 n;

		if (value[0] == '\0' || strspn(value, "0123456789") !=
		    strlen(value))
			goto bad;
		n = strtonum(value, 0, INT64_MAX, &errstr);
		if (errstr != NULL || (r->clen != -1 && r->clen != n))
			goto bad;
		r->clen = n;
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		/*
		 * HTTP/1.0 has no transfer codings: a message with one has
		 * faulty framing (RFC 9112, 6.1).  Twice is no better.
		 */
		if (r->minor == 0 || r->chunked)
			goto bad;
		if (strcasecmp(value, "chunked") != 0) {
			r->keepalive = 0;
			http_error(c, 501, "UNSUPPORTED",
			    "only chunked transfer coding is supported");
			return (-1);
		}
		r->chunked = 1;
	} else if (strcasecmp(name, "Content-Type") == 0) {
		if (set_once(&r->ctype, value) == -1)
			goto bad;
	} else if (strcasecmp(name, "Content-Range") == 0) {
		if (set_once(&r->crange, value) == -1)
			goto bad;
	} else if (strcasecmp(name, "Range") == 0) {
		if (set_once(&r->range, value) == -1)
			goto bad;
	} else if (strcasecmp(name, "Host") == 0) {
		if (set_once(&r->host, value) == -1)
			goto bad;
	} else if (strcasecmp(name, "Authorization") == 0) {
		if (set_once(&r->auth, value) == -1)
			goto bad;
	} else if (strcasecmp(name, "Connection") == 0) {
		if (parse_connection(r, value) == -1)
			goto bad;
	} else if (strcasecmp(name, "X-Forwarded-For") == 0) {
		/* Repeated headers are one list, the last element last. */
		free(r->xff);
		if ((r->xff = strdup(value)) == NULL)
			goto bad;
	} else if (strcasecmp(name, "X-Forwarded-Proto") == 0) {
		free(r->xfproto);
		if ((r->xfproto = strdup(value)) == NULL)
			goto bad;
	} else if (strcasecmp(name, "X-Forwarded-Host") == 0) {
		free(r->xfhost);
		if ((r->xfhost = strdup(value)) == NULL)
			goto bad;
	} else if (strcasecmp(name, "User-Agent") == 0) {
		free(r->ua);
		if ((r->ua = strdup(value)) == NULL)
			goto bad;
	} else if (strcasecmp(name, "Expect") == 0) {
		if (strcasecmp(value, "100-continue") == 0)
			r->expect100 = 1;
	}
	return (0);
bad:
	r->keepalive = 0;
	http_error(c, 400, "UNSUPPORTED", "malformed header");
	return (-1);
}

static int
headers_done(struct conn *c)
{
	struct req	*r = &c->req;
	char		*q;

	if (r->minor >= 1)
		r->keepalive = 1;
	if (r->conn_close)
		r->keepalive = 0;
	else if (r->conn_keepalive)
		r->keepalive = 1;
	if (r->chunked && r->clen != -1) {
		/* Both framings at once is how requests get smuggled. */
		r->keepalive = 0;
		http_error(c, 400, "UNSUPPORTED",
		    "both Content-Length and Transfer-Encoding");
		return (-1);
	}
	if (r->minor == 1 && r->host == NULL) {
		r->keepalive = 0;
		http_error(c, 400, "UNSUPPORTED", "missing Host header");
		return (-1);
	}
	r->path = r->target;
	if ((q = strchr(r->target, '?')) != NULL) {
		*q++ = '\0';
		r->query = q;
	}
	if (r->chunked) {
		r->chunk_state = CHUNK_SIZE_LINE;
		r->body_left = 0;
	} else
		r->body_left = r->clen == -1 ? 0 : r->clen;
	return (1);
}

/* A trailer field: a token, a colon, a value without controls. */
static int
trailer_ok(char *line)
{
	char	*v;

	if ((v = strchr(line, ':')) == NULL)
		return (-1);
	*v++ = '\0';
	if (!is_token(line))
		return (-1);
	return (has_ctl(v) ? -1 : 0);
}

/* Is there a body still to come on this request? */
static int
body_finished(struct req *r)
{
	if (r->chunked)
		return (r->chunk_state == CHUNK_DONE);
	return (r->body_left == 0);
}

/* Are there bytes of this request's body not read yet? */
int
http_body_pending(struct req *r)
{
	if (r->target == NULL)
		return (0);
	return (!body_finished(r));
}

/*
 * Does a chunked body stand inside a chunk's data with fewer than avail
 * bytes of it in the input?  The client owes the rest of that chunk, so
 * waiting for more cannot stall.
 */
int
http_chunk_owed(const struct req *r, size_t avail)
{
	return (r->chunked && r->chunk_state == CHUNK_DATA &&
	    (int64_t)avail < r->body_left);
}

/*
 * Move up to len decoded body bytes from the input into buf.  Returns 1
 * when the whole body has been taken, 0 when more input is needed and -1
 * on a malformed chunked body.
 */
int
http_body_pump(struct conn *c, unsigned char *buf, size_t len, size_t *got)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct req		*r = &c->req;
	size_t			 avail, n, llen, max;
	char			*line, *ep;
	unsigned long long	 sz;

	*got = 0;
	while (!body_finished(r)) {
		avail = evbuffer_get_length(in);
		if (!r->chunked || r->chunk_state == CHUNK_DATA) {
			if (avail == 0 || *got == len)
				return (0);
			n = len - *got;
			/* Unsigned: a len of SIZE_MAX (discard) is no -1. */
			if ((uint64_t)n > (uint64_t)r->body_left)
				n = r->body_left;
			if (n > avail)
				n = avail;
			if (buf != NULL)
				evbuffer_remove(in, buf + *got, n);
			else
				evbuffer_drain(in, n);
			*got += n;
			r->body_left -= n;
			r->body_seen += n;
			if (r->chunked && r->body_left == 0)
				r->chunk_state = CHUNK_DATA_CRLF;
			continue;
		}
		/*
		 * Size lines and trailers end with CRLF like the head, and
		 * trailers count against the head's limits.
		 */
		max = r->chunk_state == CHUNK_TRAILER ?
		    c->srv->max_headers - r->hdrbytes : CHUNK_LINE_MAX;
		switch (http_getline(in, &line, &llen, max)) {
		case 0:
			return (0);
		case 1:
			break;
		default:
			return (-1);
		}
		if (r->chunk_state == CHUNK_TRAILER) {
			r->hdrbytes += llen + 2;
			if (llen > 0 && ++r->nheaders > c->srv->max_nheaders) {
				free(line);
				return (-1);
			}
		}
		switch (r->chunk_state) {
		case CHUNK_SIZE_LINE:
			if (has_ctl(line)) {
				free(line);
				return (-1);
			}
			line[strcspn(line, "; \t")] = '\0';
			/* 15 hex digits at most: no size can overflow. */
			if (line[0] == '\0' || strspn(line,
			    "0123456789abcdefABCDEF") != strlen(line) ||
			    strlen(line) > 15) {
				free(line);
				return (-1);
			}
			errno = 0;
			sz = strtoull(line, &ep, 16);
			if (errno != 0) {
				free(line);
				return (-1);
			}
			if (sz == 0)
				r->chunk_state = CHUNK_TRAILER;
			else {
				r->chunk_state = CHUNK_DATA;
				r->body_left = sz;
			}
			break;
		case CHUNK_DATA_CRLF:
			if (line[0] != '\0') {
				free(line);
				return (-1);
			}
			r->chunk_state = CHUNK_SIZE_LINE;
			break;
		case CHUNK_TRAILER:
			if (line[0] == '\0')
				r->chunk_state = CHUNK_DONE;
			else if (trailer_ok(line) == -1) {
				free(line);
				return (-1);
			}
			break;
		}
		free(line);
	}
	return (1);
}

static const char *
http_date(void)
{
	static char	 buf[64];
	static time_t	 last;
	time_t		 now = time(NULL);
	struct tm	 tm;

	if (now != last) {
		gmtime_r(&now, &tm);
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		last = now;
	}
	return (buf);
}

void
http_start_response(struct conn *c, int status, const char *ctype,
    int64_t clen)
{
	struct evbuffer	*out = conn_output(c);

	c->req.status = status;
	/*
	 * An answer given before the request's body was read must not
	 * leave that body to be parsed as the next request: the connection
	 * closes after it.  So it does when a newer generation took over.
	 */
	if (!c->req.keepalive || c->close_after ||
	    http_body_pending(&c->req) || front_draining())
		c->close_after = 1;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Date: %s\r\n"
	    "Docker-Distribution-API-Version: registry/2.0\r\n",
	    status, http_status_text(status), http_date());
	if (ctype != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	if (clen >= 0)
		evbuffer_add_printf(out, "Content-Length: %lld\r\n",
		    (long long)clen);
	if (c->close_after)
		evbuffer_add_printf(out, "Connection: close\r\n");
}

void
http_header(struct conn *c, const char *name, const char *fmt, ...)
{
	struct evbuffer	*out = conn_output(c);
	va_list		 ap;

	evbuffer_add_printf(out, "%s: ", name);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

void
http_end_headers(struct conn *c)
{
	evbuffer_add(conn_output(c), "\r\n", 2);
}

static void
json_escape(struct evbuffer *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			evbuffer_add_printf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			evbuffer_add_printf(out, "\\u%04x", *s);
		else
			evbuffer_add(out, s, 1);
	}
}

/* A complete error response with the spec's JSON body. */
void
http_error(struct conn *c, int status, const char *code, const char *msg)
{
	http_error_ext(c, status, code, msg, NULL);
}

void
http_error_ext(struct conn *c, int status, const char *code, const char *msg,
    const char *extra)
{
	struct evbuffer	*body, *out = conn_output(c);
	size_t		 len;

	if ((body = evbuffer_new()) == NULL) {
		c->close_after = 1;
		return;
	}
	evbuffer_add_printf(body, "{\"errors\":[{\"code\":\"");
	json_escape(body, code);
	evbuffer_add_printf(body, "\",\"message\":\"");
	json_escape(body, msg);
	evbuffer_add_printf(body, "\",\"detail\":{}}]}\n");
	len = evbuffer_get_length(body);
	http_start_response(c, status, "application/json; charset=utf-8",
	    (int64_t)len);
	if (extra != NULL)
		evbuffer_add(out, extra, strlen(extra));
	http_end_headers(c);
	if (strcmp(c->req.method, "HEAD") != 0)
		evbuffer_add_buffer(out, body);
	c->req.bytes_out += len;
	evbuffer_free(body);
	conn_respond_done(c);
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

/* Copy the value of a query parameter into buf; NULL when absent. */
char *
http_query_get(const char *query, const char *key, char *buf, size_t len)
{
	const char	*p, *v, *end;
	size_t		 klen = strlen(key), n, i, o;
	int		 hi, lo;

	for (p = query; p != NULL && *p != '\0'; p = end) {
		end = strchr(p, '&');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (end != NULL)
			end++;
		if (n < klen || strncmp(p, key, klen) != 0 ||
		    (n > klen && p[klen] != '='))
			continue;
		v = n > klen ? p + klen + 1 : p + n;
		n -= v - p;
		for (i = o = 0; i < n && o + 1 < len; i++) {
			if (v[i] == '%' && i + 2 < n &&
			    (hi = hexval(v[i + 1])) != -1 &&
			    (lo = hexval(v[i + 2])) != -1) {
				buf[o++] = hi << 4 | lo;
				i += 2;
			} else if (v[i] == '+')
				buf[o++] = ' ';
			else
				buf[o++] = v[i];
		}
		if (i < n)
			return (NULL);	/* too long to be any valid value */
		buf[o] = '\0';
		return (buf);
	}
	return (NULL);
}
