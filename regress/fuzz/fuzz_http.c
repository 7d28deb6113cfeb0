/*
 * Fuzz target: the HTTP/1.1 request head parser and the body decoder of
 * regd/http.c, driven the way frontend.c drives them.  The input is
 * split into pieces of a size picked by its first byte, so requests
 * arrive cut at every possible place, and pipelined requests follow one
 * another on one connection until the parser refuses one.
 *
 * The connection's bufferevent has no socket: bytes are added to its
 * input buffer and its output is thrown away.  The frontend.c symbols
 * the parser needs, conn_respond_done(), conn_output() and
 * front_draining(), are provided here; the first only records that an
 * error answer was queued.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "regd.h"
#include "fuzz.h"

struct regd		*env;
static struct event_base *base;
static struct server_conf srv;
static int		 responded;

void
conn_respond_done(struct conn *c)
{
	c->state = CS_RESPOND;
	responded = 1;
}

struct evbuffer *
conn_output(struct conn *c)
{
	return (bufferevent_get_output(c->bev));
}

int
front_draining(void)
{
	return (0);
}

/* No control character but a tab survives in a value taken in. */
static void
check_value(const char *v)
{
	if (v == NULL)
		return;
	for (; *v != '\0'; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			abort();
}

static void
setup(void)
{
	base = event_base_new();
	if (base == NULL)
		abort();
	srv.max_reqline = 512;
	srv.max_headers = 2048;
	srv.max_nheaders = 20;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	setup();
	return (0);
}

/* Take the body of the current request; -1 once the parser refused it. */
static int
body(struct conn *c, int discard)
{
	unsigned char	 buf[100];
	size_t		 got;
	int		 rv;

	for (;;) {
		if (discard)
			rv = http_body_pump(c, NULL, SIZE_MAX, &got);
		else
			rv = http_body_pump(c, buf, sizeof(buf), &got);
		if (got > sizeof(buf) && !discard)
			abort();
		/* Never past the body: the rest is the next request. */
		if (c->req.body_left < 0)
			abort();
		if (rv != 0)
			return (rv);
		if (got == 0)
			return (0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn	 c;
	struct evbuffer	*in, *out;
	size_t		 step, off, n;
	int		 rv, discard, done = 0;

	if (base == NULL)
		setup();
	if (size < 1)
		return (0);
	step = data[0] == 0 ? size : data[0];
	discard = data[0] & 1;
	data++;
	size--;

	memset(&c, 0, sizeof(c));
	c.srv = &srv;
	c.fd = -1;
	http_reset(&c.req);
	if ((c.bev = bufferevent_socket_new(base, -1, 0)) == NULL)
		abort();
	in = bufferevent_get_input(c.bev);
	out = bufferevent_get_output(c.bev);
	/* A socket bufferevent keeps its input for its own reads. */
	evbuffer_unfreeze(in, 0);
	evbuffer_unfreeze(out, 1);
	responded = 0;
	c.state = CS_HEADERS;

	for (off = 0; off < size && !done; off += n) {
		n = size - off < step ? size - off : step;
		if (evbuffer_add(in, data + off, n) == -1)
			abort();
		while (!done && evbuffer_get_length(in) > 0) {
			if (c.state == CS_HEADERS) {
				rv = http_parse_head(&c);
				if (rv == 0)
					break;
				if (rv == -1) {
					/* A refusal always queues an answer. */
					if (!responded)
						abort();
					done = 1;
					break;
				}
				c.nreqs++;
				if (c.req.path == NULL || c.req.path[0] != '/')
					abort();
				check_value(c.req.host);
				check_value(c.req.ctype);
				check_value(c.req.range);
				check_value(c.req.auth);
				check_value(c.req.xff);
				/* HTTP/1.0 knows no transfer coding. */
				if (c.req.chunked && c.req.minor == 0)
					abort();
				c.state = CS_BODY;
			}
			rv = body(&c, discard);
			if (rv == 0)
				break;
			if (rv == -1) {
				http_error(&c, 400, "UNSUPPORTED",
				    "malformed chunked body");
				done = 1;
				break;
			}
			/* Answer and go on with the next request. */
			http_start_response(&c, 200, NULL, 0);
			http_end_headers(&c);
			if (!c.req.keepalive) {
				done = 1;
				break;
			}
			http_reset(&c.req);
			c.state = CS_HEADERS;
		}
		evbuffer_drain(out, evbuffer_get_length(out));
	}
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%d requests, last status %d\n", c.nreqs,
		    c.req.status);
	http_reset(&c.req);
	bufferevent_free(c.bev);
	/* The bufferevent is finalized by the loop: let it run. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	return (0);
}
