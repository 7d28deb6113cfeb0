/*
 * Upload bytes in storage: a small pool of threads appends them to the
 * upload (the backend's upload_append) and runs the SHA-256 over them
 * while the main thread goes
 * on reading messages.  Every upload has two lanes, one that writes and
 * one that hashes, each working through the same chunks in order, so a
 * single push uses two cores and parallel pushes use all of them.  Only
 * this data path is threaded: commits, links, deletes and GC stay in
 * the main thread, which waits for an upload's lanes to drain before it
 * looks at its data or its digest (io_drain).
 *
 * With no threads started (storage on fewer than IO_MINCPUS CPUs) the
 * main thread writes and hashes each message as it comes, with no copy.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* SHA256_CTX is a plain struct: its state can be saved to a file. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "privsep.h"
#include "regd.h"
#include "store.h"

#define IO_CHUNK	DATA_CHUNK	/* bytes per chunk */
#define IO_STREAM_MAX	8		/* chunks in flight per upload */
#define IO_TOTAL_MAX	24		/* chunks in flight in all */
#define IO_KEEP		4		/* idle chunks kept for reuse */
#define IO_MAXTHREADS	8
#define IO_READ_MAX	(1024 * 1024)	/* a pipe read without threads */

enum { LANE_WRITE, LANE_HASH, NLANES };

struct io_chunk {
	TAILQ_ENTRY(io_chunk)	 link[NLANES];
	int			 refs;
	size_t			 len;
	unsigned char		 data[IO_CHUNK];
};
TAILQ_HEAD(io_chunkq, io_chunk);

struct io_lane {
	TAILQ_ENTRY(io_lane)	 ready;
	struct io_chunkq	 chunks;
	struct io_stream	*st;
	int			 kind;
	int			 queued;	/* on the ready list */
	int			 running;	/* a thread works on it */
};
TAILQ_HEAD(io_laneq, io_lane);

struct io_stream {
	struct io_lane		 lane[NLANES];
	int			 inflight;	/* chunks not done */
	/* the write lane's, read by the main thread after io_drain */
	struct be_upload	*bu;
	int64_t			 written;
	int			 werr;
	/* the hash lane's */
	SHA256_CTX		*ctx;
};

static pthread_mutex_t	 io_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 io_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 io_done = PTHREAD_COND_INITIALIZER;
static struct io_laneq	 io_ready = TAILQ_HEAD_INITIALIZER(io_ready);
static struct io_chunkq	 io_free = TAILQ_HEAD_INITIALIZER(io_free);
static int		 io_nfree;
static int		 io_inflight;
static int		 io_nthreads;
static int		 io_running;	/* threads past their start */
static int		 io_waiting;	/* the main thread waits on io_done */

static void
lane_write(struct io_stream *st, const unsigned char *p, size_t len)
{
	if (st->werr != 0)
		return;
	if (be->upload_append(st->bu, p, len) == -1)
		st->werr = errno;
	else
		st->written += len;
}

static void
lane_work(struct io_lane *l, struct io_chunk *c)
{
	if (l->kind == LANE_WRITE)
		lane_write(l->st, c->data, c->len);
	else
		SHA256_Update(l->st->ctx, c->data, c->len);
}

/* With io_mtx held: one lane is done with c. */
static void
chunk_release(struct io_stream *st, struct io_chunk *c)
{
	if (--c->refs > 0)
		return;
	st->inflight--;
	io_inflight--;
	if (io_nfree < IO_KEEP) {
		TAILQ_INSERT_HEAD(&io_free, c, link[0]);
		io_nfree++;
	} else
		free(c);
	/* Wake the main thread when half of what it waits for is done. */
	if (io_waiting && (st->inflight <= IO_STREAM_MAX / 2 ||
	    io_inflight <= IO_TOTAL_MAX / 2))
		pthread_cond_broadcast(&io_done);
}

static void *
io_thread(void *arg)
{
	struct io_lane	*l;
	struct io_chunk	*c;
	sigset_t	 all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&io_mtx);
	io_running++;
	pthread_cond_broadcast(&io_done);
	for (;;) {
		while ((l = TAILQ_FIRST(&io_ready)) == NULL)
			pthread_cond_wait(&io_work, &io_mtx);
		TAILQ_REMOVE(&io_ready, l, ready);
		l->queued = 0;
		l->running = 1;
		/* Stay on the lane while it has chunks: fewer wake-ups. */
		while ((c = TAILQ_FIRST(&l->chunks)) != NULL) {
			TAILQ_REMOVE(&l->chunks, c, link[l->kind]);
			pthread_mutex_unlock(&io_mtx);
			lane_work(l, c);
			pthread_mutex_lock(&io_mtx);
			chunk_release(l->st, c);
		}
		l->running = 0;
		if (l->st->inflight == 0 && io_waiting)
			pthread_cond_broadcast(&io_done);
	}
	return (NULL);
}

/* Start n threads; call before the sandbox.  0 if fewer could start. */
int
io_start(int n)
{
	pthread_attr_t	 attr;
	pthread_t	 t;
	int		 i;

	if (n > IO_MAXTHREADS)
		n = IO_MAXTHREADS;
	if (pthread_attr_init(&attr) != 0)
		return (-1);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < n; i++) {
		if (pthread_create(&t, &attr, io_thread, NULL) != 0)
			break;
		io_nthreads++;
	}
	pthread_attr_destroy(&attr);
	/*
	 * Wait until every thread is in its loop: glibc's start of a
	 * thread makes calls (set_robust_list, rseq) the sandbox forbids.
	 */
	pthread_mutex_lock(&io_mtx);
	while (io_running < io_nthreads)
		pthread_cond_wait(&io_done, &io_mtx);
	pthread_mutex_unlock(&io_mtx);
	return (i == n ? 0 : -1);
}

struct io_stream *
io_open(struct be_upload *bu, SHA256_CTX *ctx)
{
	struct io_stream	*st;
	int			 i;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return (NULL);
	for (i = 0; i < NLANES; i++) {
		TAILQ_INIT(&st->lane[i].chunks);
		st->lane[i].st = st;
		st->lane[i].kind = i;
	}
	st->bu = bu;
	st->ctx = ctx;
	return (st);
}

/*
 * With io_mtx held: a chunk to fill, waiting while too many are in
 * flight.  Every chunk counted is on a lane, so the wait ends.
 */
static struct io_chunk *
chunk_get(struct io_stream *st)
{
	struct io_chunk	*c;

	while (st->inflight >= IO_STREAM_MAX ||
	    io_inflight >= IO_TOTAL_MAX) {
		io_waiting++;
		pthread_cond_wait(&io_done, &io_mtx);
		io_waiting--;
	}
	if ((c = TAILQ_FIRST(&io_free)) != NULL) {
		TAILQ_REMOVE(&io_free, c, link[0]);
		io_nfree--;
	} else if ((c = malloc(sizeof(*c))) == NULL)
		return (NULL);
	c->len = 0;
	c->refs = NLANES;
	st->inflight++;
	io_inflight++;
	return (c);
}

/* Hand a chunk to the lanes. */
static void
io_flush(struct io_stream *st, struct io_chunk *c)
{
	struct io_lane	*l;
	int		 i;

	pthread_mutex_lock(&io_mtx);
	for (i = 0; i < NLANES; i++) {
		l = &st->lane[i];
		TAILQ_INSERT_TAIL(&l->chunks, c, link[i]);
		if (!l->queued && !l->running) {
			TAILQ_INSERT_TAIL(&io_ready, l, ready);
			l->queued = 1;
			pthread_cond_signal(&io_work);
		}
	}
	pthread_mutex_unlock(&io_mtx);
}

/*
 * Append bytes to the upload: they are written and hashed in the
 * background.  -1 when memory is short (the bytes are lost: the caller
 * fails the upload).
 */
int
io_data(struct io_stream *st, const void *data, size_t len)
{
	const unsigned char	*p = data;
	struct io_chunk		*c;
	size_t			 n;

	if (io_nthreads == 0) {
		/* No threads: straight from the message, no copy. */
		lane_write(st, p, len);
		SHA256_Update(st->ctx, p, len);
		return (0);
	}
	while (len > 0) {
		pthread_mutex_lock(&io_mtx);
		c = chunk_get(st);
		pthread_mutex_unlock(&io_mtx);
		if (c == NULL)
			return (-1);
		n = len < IO_CHUNK ? len : IO_CHUNK;
		memcpy(c->data, p, n);
		c->len = n;
		io_flush(st, c);
		p += n;
		len -= n;
	}
	return (0);
}

/*
 * Read body bytes from fd (a frontend's pipe) straight into a chunk and
 * hand it to the lanes: the one user-space copy of a piped body.
 * Returns the bytes read, 0 at the end of the pipe, -1 with errno
 * (EAGAIN: nothing there yet; ENOMEM: the bytes could not be taken).
 */
ssize_t
io_read(struct io_stream *st, int fd)
{
	static unsigned char	 buf[IO_READ_MAX];
	struct io_chunk		*c;
	ssize_t			 n;

	if (io_nthreads == 0) {
		/* As much as the pipe holds: fewer reads, writes, wake-ups. */
		while ((n = read(fd, buf, sizeof(buf))) == -1 &&
		    errno == EINTR)
			;
		if (n > 0) {
			lane_write(st, buf, n);
			SHA256_Update(st->ctx, buf, n);
		}
		return (n);
	}
	pthread_mutex_lock(&io_mtx);
	c = chunk_get(st);
	pthread_mutex_unlock(&io_mtx);
	if (c == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	while ((n = read(fd, c->data, IO_CHUNK)) == -1 && errno == EINTR)
		;
	if (n <= 0) {
		/* Nothing for the lanes: the chunk goes back unused. */
		pthread_mutex_lock(&io_mtx);
		c->refs = 1;
		chunk_release(st, c);
		pthread_mutex_unlock(&io_mtx);
		return (n);
	}
	c->len = n;
	io_flush(st, c);
	return (n);
}

/*
 * Wait until every byte given is written and hashed.  Returns the bytes
 * written since io_open and the first write error in *errp.
 */
int64_t
io_drain(struct io_stream *st, int *errp)
{
	pthread_mutex_lock(&io_mtx);
	while (st->inflight > 0) {
		io_waiting++;
		pthread_cond_wait(&io_done, &io_mtx);
		io_waiting--;
	}
	pthread_mutex_unlock(&io_mtx);
	*errp = st->werr;
	return (st->written);
}

/* Drain and free; the descriptor and digest context stay the caller's. */
void
io_close(struct io_stream *st)
{
	int	 err;

	if (st == NULL)
		return;
	(void)io_drain(st, &err);
	free(st);
}
