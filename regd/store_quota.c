/*
 * Storage: quotas.  The bytes of all blobs, counted once and then kept
 * by the change hook; the bytes a repository links, counted when a
 * quota for it is checked; and the checks before a blob or manifest is
 * linked or an upload's bytes are taken.
 */

#include <sys/types.h>

#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "regd.h"
#include "store.h"

static int64_t	 disk_total = -1;

static void
disk_add(int64_t n)
{
	if (disk_total < 0)
		return;
	disk_total += n;
	if (disk_total < 0)
		disk_total = -1;
}

static void
quota_changed(const struct st_event *ev, void *arg)
{
	if (ev->what == SC_BLOB_ADDED)
		disk_add(ev->size);
	else if (ev->what == SC_BLOB_REMOVED)
		disk_add(-ev->size);
}

void
quota_init(void)
{
	store_hook_add(quota_changed, NULL);
}

/* The total is not known any more (fsck moved blobs aside). */
void
quota_forget_disk(void)
{
	disk_total = -1;
}

/*
 * Bytes stored of all blobs, counted once (again when recount is set)
 * and then kept up to date by the change hook.
 */
int64_t
quota_disk_usage(int recount)
{
	struct names	 blobs;
	struct be_stat	 bs;
	int64_t		 sum = 0;
	size_t		 i;

	if (disk_total >= 0 && !recount)
		return (disk_total);
	memset(&blobs, 0, sizeof(blobs));
	if (be->blob_walk(names_each, &blobs) == -1) {
		names_free(&blobs);
		return (-1);
	}
	for (i = 0; i < blobs.n; i++)
		if (be->blob_stat(blobs.v[i], &bs) == 0 && bs.size > 0)
			sum += bs.size;
	names_free(&blobs);
	disk_total = sum;
	return (sum);
}

/* Sum of the sizes of the distinct blobs a repository links. */
int64_t
quota_repo_bytes(const char *repo)
{
	struct names	 ns;
	struct be_stat	 bs;
	int64_t		 sum = 0;
	size_t		 i;

	memset(&ns, 0, sizeof(ns));
	store_repo_digests(repo, BE_LAYER, &ns);
	store_repo_digests(repo, BE_REVISION, &ns);
	names_uniq(&ns);
	for (i = 0; i < ns.n; i++)
		if (be->blob_stat(ns.v[i], &bs) == 0)
			sum += bs.size;
	names_free(&ns);
	return (sum);
}

void
quota_fmt_bytes(char *buf, size_t len, int64_t n)
{
	const char	*units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double		 v = n;
	int		 u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld B", (long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

/*
 * Quotas, checked before a blob or manifest of size bytes is linked into
 * repo: 0 if it fits, -1 with a DENIED answer in res if not.
 */
int
quota_check(const char *repo, const char *digest, int64_t size,
    struct st_res *res)
{
	const struct store_conf	*sc = gc_store_conf();
	char		 b1[32];
	int64_t		 used;
	int		 i;

	if (sc->quota <= 0 && sc->nquotas == 0)
		return (0);
	if (store_linked(repo, BE_LAYER, digest) ||
	    store_linked(repo, BE_REVISION, digest))
		return (0);
	if (sc->quota > 0 && be->blob_stat(digest, NULL) == -1 &&
	    (used = quota_disk_usage(0)) >= 0 && used + size > sc->quota) {
		quota_fmt_bytes(b1, sizeof(b1), sc->quota);
		store_err(res, 403, "DENIED", "storage quota of %s exceeded",
		    b1);
		return (-1);
	}
	for (i = 0; i < sc->nquotas; i++) {
		if (fnmatch(sc->quotas[i].pattern, repo, 0) != 0)
			continue;
		used = quota_repo_bytes(repo);
		if (used + size > sc->quotas[i].size) {
			quota_fmt_bytes(b1, sizeof(b1), sc->quotas[i].size);
			store_err(res, 403, "DENIED", "quota of %s for "
			    "repository %.100s exceeded", b1, repo);
			return (-1);
		}
		break;
	}
	return (0);
}

/*
 * Bytes that may still come into repo before a quota is reached, all
 * unfinished uploads holding all bytes and those of repo inrepo; msg
 * gets the refusal for the tightest quota.  INT64_MAX without quotas.
 */
int64_t
quota_room(const char *repo, int64_t all, int64_t inrepo, char *msg,
    size_t len)
{
	const struct store_conf	*sc = gc_store_conf();
	char		 b1[32];
	int64_t		 room = INT64_MAX, used, r;
	int		 i;

	snprintf(msg, len, "quota exceeded");
	if (sc->quota > 0 && (used = quota_disk_usage(0)) >= 0) {
		room = sc->quota - used - all;
		quota_fmt_bytes(b1, sizeof(b1), sc->quota);
		snprintf(msg, len, "storage quota of %s exceeded", b1);
	}
	for (i = 0; i < sc->nquotas; i++) {
		if (fnmatch(sc->quotas[i].pattern, repo, 0) != 0)
			continue;
		used = quota_repo_bytes(repo);
		r = sc->quotas[i].size - used - inrepo;
		if (r < room) {
			room = r;
			quota_fmt_bytes(b1, sizeof(b1), sc->quotas[i].size);
			snprintf(msg, len, "quota of %s for repository %.100s "
			    "exceeded", b1, repo);
		}
		break;
	}
	return (room);
}
