/*
 * Fuzz target: manifest and index validation as the storage process does
 * it, through the same calls storage.c makes for a manifest PUT
 * (store_manifest_put_begin, store_stream_data, store_stream_end) in a
 * temporary storage root that holds one repository with a few blobs and
 * one manifest to refer to.
 *
 * The first input byte picks the Content-Type, whether the reference is
 * a tag, the body's own digest or a wrong digest, and whether the length
 * is announced; the body comes in pieces like ST_DATA messages do.  An
 * answer must be a 201 with the body's digest or a 4xx with an error
 * code; a 5xx (the disk refused) or a 201 for a wrong digest aborts.
 * FUZZ_VERBOSE set in the environment prints each answer.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regd.h"
#include "store.h"
#include "fuzz.h"

#define REPO	"fuzz/repo"

struct regd	*env;

static const char *types[] = {
	"",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json; charset=utf-8",
	"text/plain",
	"APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON"
};

static char	 root[PATH_MAX];

static void
cleanup(void)
{
	char	 cmd[PATH_MAX + 16];

	if (root[0] == '\0')
		return;
	if (chdir("/") == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			warnx("cannot remove %s", root);
	}
}

/* Store a blob and link it into REPO as kind; the digest goes in d. */
static void
seed(enum be_link kind, const char *body, char *d, size_t dlen)
{
	if (store_digest_buf("sha256", body, strlen(body), d, dlen) == -1 ||
	    be->blob_write(d, body, strlen(body)) == -1 ||
	    be->link_put(REPO, kind, d) == -1)
		errx(1, "cannot seed %s", body);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 d[MAX_DIGEST + 1];
	char	 tmpl[] = "/tmp/regd-fuzz-manifest.XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		err(1, "mkdtemp");
	strlcpy(root, tmpl, sizeof(root));
	atexit(cleanup);
	if (chdir(root) == -1 || store_init() == -1)
		err(1, "%s", root);
	/* The digests the seed corpus refers to. */
	seed(BE_LAYER, "{}", d, sizeof(d));
	seed(BE_LAYER, "layer one", d, sizeof(d));
	seed(BE_LAYER, "layer two", d, sizeof(d));
	seed(BE_REVISION, "{\"schemaVersion\":2,\"mediaType\":"
	    "\"application/vnd.oci.image.manifest.v1+json\",\"config\":{"
	    "\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":"
	    "\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f"
	    "61caaff8a\",\"size\":2},\"layers\":[]}", d, sizeof(d));
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_manifest_put req;
	struct st_res	 res;
	struct st_stream *s;
	char		 digest[MAX_DIGEST + 1];
	size_t		 off, n, step;
	int		 answer, mode, early = 0;

	if (root[0] == '\0')
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1)
		return (0);
	mode = data[0];
	data++;
	size--;

	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	strlcpy(req.repo, REPO, sizeof(req.repo));
	strlcpy(req.mediatype, types[mode & 7], sizeof(req.mediatype));
	if (store_digest_buf("sha256", data, size, digest,
	    sizeof(digest)) == -1)
		abort();
	switch ((mode >> 3) & 3) {
	case 0:
	case 1:
		strlcpy(req.ref, "latest", sizeof(req.ref));
		break;
	case 2:
		strlcpy(req.ref, digest, sizeof(req.ref));
		break;
	case 3:
		/* Some other, well-formed digest. */
		snprintf(req.ref, sizeof(req.ref), "sha256:%.32s%.32s",
		    digest + 7 + 32, digest + 7);
		break;
	}
	req.len = (mode & 0x20) ? -1 : (int64_t)size;
	req.limit = -1;
	step = (mode & 0x40) ? 1 + size / 3 : size;

	if ((s = store_manifest_put_begin(&req, &res,
	    &answer)) == NULL)
		return (0);
	if (answer)
		abort();	/* repository and references are valid */
	for (off = 0; off < size && !early; off += n) {
		n = size - off < step ? size - off : step;
		/* An early answer (too large) ends the stream's answers. */
		early = store_stream_data(s, data + off, n, &res);
	}
	if (store_stream_end(s, &res) != !early)
		abort();
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%d %s %s\n", res.status, res.code,
		    res.message);
	if (res.status == 201) {
		if (strcmp(res.digest, digest) != 0 ||
		    ((mode >> 3) & 3) == 3)
			abort();
	} else if (res.status < 400 || res.status >= 500 ||
	    res.code[0] == '\0') {
		fprintf(stderr, "answer %d %s: %s\n", res.status, res.code,
		    res.message);
		abort();
	}
	return (0);
}
