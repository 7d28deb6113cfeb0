/*
 * Long work off storage's main thread.  A job is a function a thread of
 * a small pool runs, then a completion the main thread runs from the
 * event loop; the request that waits for it is parked meanwhile
 * (storage_park/storage_resume in storage.c), so the loop goes on
 * serving everyone else.  What a job may touch: the backend calls the
 * interface marks "worker", and memory the main thread does not touch
 * until the completion runs.  Tree changes, hooks, caches and answers
 * stay in the completion, on the main thread, like every other change.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "privsep.h"
#include "regd.h"
#include "store.h"

#define JOB_MAXTHREADS	16
#define JOB_MAXQUEUE	1024		/* jobs waiting for a thread */

struct job {
	TAILQ_ENTRY(job)	 entry;
	job_fn			 fn;
	job_done		 done;
	void			*arg;
};
TAILQ_HEAD(jobq, job);

static pthread_mutex_t	 job_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 job_cv = PTHREAD_COND_INITIALIZER;
static struct jobq	 job_todo = TAILQ_HEAD_INITIALIZER(job_todo);
static struct jobq	 job_fin = TAILQ_HEAD_INITIALIZER(job_fin);
static int		 job_ntodo;
static int		 job_nthreads;
static int		 job_running;
static int		 job_wake[2] = { -1, -1 };
static int		 job_evset;
static struct event	 job_ev;

static void *
job_thread(void *unused)
{
	struct job	*j;
	sigset_t	 all;
	char		 c = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&job_mtx);
	job_running++;
	pthread_cond_broadcast(&job_cv);
	for (;;) {
		while ((j = TAILQ_FIRST(&job_todo)) == NULL)
			pthread_cond_wait(&job_cv, &job_mtx);
		TAILQ_REMOVE(&job_todo, j, entry);
		job_ntodo--;
		pthread_mutex_unlock(&job_mtx);
		j->fn(j->arg);
		if (j->done == NULL) {
			/* job_post's: no completion. */
			free(j);
			pthread_mutex_lock(&job_mtx);
			continue;
		}
		pthread_mutex_lock(&job_mtx);
		TAILQ_INSERT_TAIL(&job_fin, j, entry);
		/* A full pipe already holds a wake-up: the byte may go. */
		if (write(job_wake[1], &c, 1) == -1)
			continue;
	}
	return (NULL);
}

/* The main thread: run the completions of finished jobs. */
static void
job_finished(int fd, short event, void *unused)
{
	struct jobq	 fin = TAILQ_HEAD_INITIALIZER(fin);
	struct job	*j;
	char		 buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&job_mtx);
	TAILQ_CONCAT(&fin, &job_fin, entry);
	pthread_mutex_unlock(&job_mtx);
	while ((j = TAILQ_FIRST(&fin)) != NULL) {
		TAILQ_REMOVE(&fin, j, entry);
		j->done(j->arg);
		free(j);
	}
}

/*
 * Start n threads; call before the sandbox (glibc's start of a thread
 * makes calls it forbids).  -1 if not all could start; those that did
 * serve.
 */
int
job_start(int n)
{
	pthread_attr_t	 attr;
	pthread_t	 t;
	int		 i;

	if (n > JOB_MAXTHREADS)
		n = JOB_MAXTHREADS;
	if (job_wake[0] == -1 && pipe2(job_wake, O_NONBLOCK | O_CLOEXEC) ==
	    -1)
		return (-1);
	if (pthread_attr_init(&attr) != 0)
		return (-1);
	/* Room for libcurl and OpenSSL, which a backend's job may call. */
	pthread_attr_setstacksize(&attr, 512 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < n; i++) {
		if (pthread_create(&t, &attr, job_thread, NULL) != 0)
			break;
		job_nthreads++;
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&job_mtx);
	while (job_running < job_nthreads)
		pthread_cond_wait(&job_cv, &job_mtx);
	pthread_mutex_unlock(&job_mtx);
	return (i == n ? 0 : -1);
}

/* Whether jobs can run at all. */
int
job_ready(void)
{
	return (job_nthreads > 0);
}

static int
job_queue(job_fn fn, job_done done, void *arg)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return (-1);
	j->fn = fn;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&job_mtx);
	if (job_ntodo >= JOB_MAXQUEUE) {
		pthread_mutex_unlock(&job_mtx);
		free(j);
		errno = EAGAIN;
		return (-1);
	}
	TAILQ_INSERT_TAIL(&job_todo, j, entry);
	job_ntodo++;
	pthread_cond_signal(&job_cv);
	pthread_mutex_unlock(&job_mtx);
	return (0);
}

/*
 * Queue fn(arg) for a thread; done(arg) runs later on the main thread,
 * never inside this call.  -1 with errno: ENOSYS no threads, EAGAIN too
 * many jobs waiting, ENOMEM.
 */
int
job_run(job_fn fn, job_done done, void *arg)
{
	if (job_nthreads == 0) {
		errno = ENOSYS;
		return (-1);
	}
	if (!job_evset) {
		event_set(&job_ev, job_wake[0], EV_READ | EV_PERSIST,
		    job_finished, NULL);
		if (event_add(&job_ev, NULL) == -1)
			return (-1);
		job_evset = 1;
	}
	return (job_queue(fn, done, arg));
}

/*
 * Queue fn(arg) for a thread, with no completion on the main thread:
 * any thread may call it (a backend's upload thread sends a part).
 * fn must itself tell whoever waits for it.  -1 as job_run.
 */
int
job_post(job_fn fn, void *arg)
{
	if (job_nthreads == 0) {
		errno = ENOSYS;
		return (-1);
	}
	return (job_queue(fn, NULL, arg));
}

/* Parked requests, by token. */
struct parked {
	RB_ENTRY(parked)	 entry;
	uint64_t		 token;
	int			 slot;
	uint64_t		 gen;		/* of the frontend's channel */
	uint32_t		 id;
};
RB_HEAD(park_tree, parked);

static int	park_cmp(struct parked *, struct parked *);
RB_PROTOTYPE(park_tree, parked, entry, park_cmp)
RB_GENERATE(park_tree, parked, entry, park_cmp)

static struct park_tree	 parks = RB_INITIALIZER(&parks);
static int		 park_count[REGD_MAXSLOTS];
static uint64_t		 park_next = 1;
static park_send	 park_sendfn;
static struct {
	int		 slot;		/* -1: no request being handled */
	uint64_t	 gen;
	uint32_t	 id;
	int		 parked;
} park_cur = { -1, 0, 0, 0 };

static int
park_cmp(struct parked *a, struct parked *b)
{
	if (a->token != b->token)
		return (a->token < b->token ? -1 : 1);
	return (0);
}

void
park_init(park_send fn)
{
	park_sendfn = fn;
}

/* A frontend's request is about to be handled. */
void
park_begin(int slot, uint64_t gen, uint32_t id)
{
	park_cur.slot = slot;
	park_cur.gen = gen;
	park_cur.id = id;
	park_cur.parked = 0;
}

/* The handler returned: 1 if it parked the request. */
int
park_end(void)
{
	int	 parked = park_cur.parked;

	park_cur.slot = -1;
	park_cur.parked = 0;
	return (parked);
}

/* A frontend went away: its parked requests will never be answered. */
void
park_forget(int slot)
{
	struct parked	*p, *next;

	RB_FOREACH_SAFE(p, park_tree, &parks, next)
		if (p->slot == slot) {
			RB_REMOVE(park_tree, &parks, p);
			free(p);
		}
	if (slot >= 0 && slot < REGD_MAXSLOTS)
		park_count[slot] = 0;
}

uint64_t
store_park(void)
{
	struct parked	*p;

	if (park_cur.slot < 0 || park_cur.slot >= REGD_MAXSLOTS ||
	    park_cur.parked || park_sendfn == NULL ||
	    park_count[park_cur.slot] >= PARK_MAX)
		return (0);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (0);
	p->token = park_next++;
	p->slot = park_cur.slot;
	p->gen = park_cur.gen;
	p->id = park_cur.id;
	RB_INSERT(park_tree, &parks, p);
	park_count[p->slot]++;
	park_cur.parked = 1;
	return (p->token);
}

int
store_resume(uint64_t token, struct st_res *res, int fd, const void *body)
{
	struct parked	 key, *p;
	int		 rv;

	key.token = token;
	if ((p = RB_FIND(park_tree, &parks, &key)) == NULL) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	RB_REMOVE(park_tree, &parks, p);
	park_count[p->slot]--;
	rv = park_sendfn(p->slot, p->gen, p->id, res, fd, body);
	free(p);
	return (rv);
}
