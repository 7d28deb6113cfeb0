/*
 * Storage's figures for the metrics listener: counters kept as the tree
 * changes (a hook, like the caches'), and the free space of the file
 * system under the storage root, read when asked.  /health also asks a
 * backend on a network (S3) whether its store answers (be->probe).
 */

#include <sys/types.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "regd.h"
#include "store.h"

struct store_stats	 store_stats = {
	.disk_used = -1, .disk_free = -1, .disk_total = -1,
	.gc_last_usec = -1, .fsck_findings = -1
};

static void
stats_hook(const struct st_event *ev, void *arg)
{
	switch (ev->what) {
	case SC_BLOB_ADDED:
		store_stats.blobs_added++;
		break;
	case SC_BLOB_REMOVED:
		store_stats.blobs_removed++;
		break;
	case SC_LINKED:
		if (ev->kind == BE_REVISION)
			store_stats.manifests_added++;
		break;
	default:
		break;
	}
}

void
store_stats_init(void)
{
	store_hook_add(stats_hook, NULL);
}

/* Free and total bytes of the file system of the storage root. */
int
store_stats_space(int64_t *avail, int64_t *total)
{
	struct statvfs	 sv;

	if (statvfs(".", &sv) == -1)
		return (-1);
	*avail = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
	*total = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
	return (0);
}

/*
 * /health: the space of the storage root's file system (on S3 the
 * cache directory's), and on a backend with a probe whether its store
 * answers.  The probe runs as a job, the requests parked; one probe at
 * a time, which every /health that comes meanwhile waits for, so a
 * store that hangs holds one thread, not one per check.  The frontend's
 * "health timeout" bounds the wait.
 */
static struct {
	uint64_t	*tokens;
	size_t		 n, size;
	int		 running;
	int		 err;		/* of the last probe: 0 it answered */
} hp;

static void
health_answer(struct st_res *res, int err)
{
	memset(res, 0, sizeof(*res));
	if (err != 0) {
		store_err(res, 503, "UNAVAILABLE", "the %s store does not "
		    "answer: %s", be->name, strerror(err));
		return;
	}
	if (store_stats_space(&res->space_free, &res->space_total) == -1) {
		store_err(res, 500, "UNKNOWN", "cannot read the file system");
		return;
	}
	res->status = 200;
	if (be->probe != NULL)
		res->flags |= STR_PROBED;
}

static void
health_work(void *arg)
{
	int	*err = arg;

	*err = be->probe() == 0 ? 0 : errno != 0 ? errno : EIO;
}

/* Every parked /health answered with the probe's word. */
static void
health_resume(int err)
{
	struct st_res	 res;
	size_t		 i;

	hp.err = err;
	hp.running = 0;
	health_answer(&res, err);
	for (i = 0; i < hp.n; i++)
		(void)store_resume(hp.tokens[i], &res, -1, NULL);
	hp.n = 0;
}

static void
health_done(void *arg)
{
	int	 err = *(int *)arg;

	free(arg);
	health_resume(err);
}

/* Answered in res, or parked (answered by health_done). */
void
store_health(struct st_res *res)
{
	uint64_t	*nv, token;
	size_t		 ns;
	int		*err;

	if (be->probe == NULL || !job_ready()) {
		health_answer(res, 0);
		return;
	}
	if (hp.n == hp.size) {
		ns = hp.size == 0 ? 16 : hp.size * 2;
		if ((nv = reallocarray(hp.tokens, ns, sizeof(*nv))) == NULL) {
			health_answer(res, ENOMEM);
			return;
		}
		hp.tokens = nv;
		hp.size = ns;
	}
	/* Too many parked: the last probe's word. */
	if ((token = store_park()) == 0) {
		health_answer(res, hp.err);
		return;
	}
	hp.tokens[hp.n++] = token;
	if (hp.running)
		return;
	if ((err = calloc(1, sizeof(*err))) == NULL ||
	    job_run(health_work, health_done, err) == -1) {
		free(err);
		health_resume(EAGAIN);
		return;
	}
	hp.running = 1;
}

void
store_stats_fill(struct store_stats *out)
{
	*out = store_stats;
	out->uploads_active = store_upload_count();
	out->disk_used = quota_disk_known();
	if (store_stats_space(&out->disk_free, &out->disk_total) == -1)
		out->disk_free = out->disk_total = -1;
	memset(&out->backend, 0, sizeof(out->backend));
	if (be->figures != NULL)
		be->figures(&out->backend);
}
