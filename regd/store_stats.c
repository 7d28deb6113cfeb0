/*
 * Storage's figures for the metrics listener: counters kept as the tree
 * changes (a hook, like the caches'), and the free space of the file
 * system under the storage root, read when asked.
 */

#include <sys/types.h>
#include <sys/statvfs.h>

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
