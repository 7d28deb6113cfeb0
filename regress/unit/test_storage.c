/*
 * Unit test of the storage process: fork storage_main() on a temporary
 * directory, talk to it over real socketpairs as a parent and two
 * frontends would, and check both its answers and the files it leaves
 * on disk.  Prints one line per case and exits 1 if any case failed.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "regd.h"

#define TIMEOUT		5000	/* ms to wait for any answer */
#define NFRONT		2
#define REPO		"test/app"
#define REPO2		"other/repo"
#define V2		"docker/registry/v2"
#define MT_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define MT_INDEX	"application/vnd.oci.image.index.v1+json"
#define EMPTY_CONFIG	\
	"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define EMPTY_BLOB	\
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct regd		*env;
static struct regd	 testenv;
static struct regd_conf	 testconf;

static char		 root[PATH_MAX];
static struct chan	 pc;		/* our end of the parent channel */
static struct chan	 fc[NFRONT];	/* our ends of the frontend channels */
static int		 loggerfd = -1;
static pid_t		 storage_pid;
static pid_t		 test_pid;
static uint32_t		 nextid = 1;

static int		 nfail, npass;
static char		 why[512];

static void	 fail(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list	 ap;

	if (why[0] != '\0')
		return;		/* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

static void
result(const char *name)
{
	if (why[0] == '\0') {
		printf("ok   %s\n", name);
		npass++;
	} else {
		printf("FAIL %s: %s\n", name, why);
		nfail++;
	}
	fflush(stdout);
	why[0] = '\0';
}

static void
sha(const char *alg, const void *buf, size_t len, char *out, size_t outlen)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	int		 n;

	EVP_Digest(buf, len, md, &mdlen, strcmp(alg, "sha512") == 0 ?
	    EVP_sha512() : EVP_sha256(), NULL);
	n = snprintf(out, outlen, "%s:", alg);
	for (i = 0; i < mdlen; i++)
		n += snprintf(out + n, outlen - n, "%02x", md[i]);
}

static void
fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		buf[i] = seed >> 16;
	}
}

/*
 * A request as the cases write it, one set of fields for every type;
 * encode makes the payload of its type from it: arg is the upload's
 * uuid, the digest to mount or a list's "last", arg2 the repository to
 * mount from, mediatype a manifest's Content-Type or the artifactType
 * filter, n a list's limit.
 */
struct treq {
	char		 repo[MAX_NAME + 1];
	char		 ref[MAX_REF + 1];
	char		 arg[MAX_NAME + 1];
	char		 arg2[MAX_NAME + 1];
	char		 mediatype[MAX_MEDIATYPE + 1];
	int64_t		 off;
	int64_t		 len;
	int64_t		 n;
	uint32_t	 flags;
};

union payload {
	struct st_blob_get		 blob_get;
	struct st_blob_delete		 blob_delete;
	struct st_manifest_get		 manifest_get;
	struct st_manifest_put		 manifest_put;
	struct st_manifest_delete	 manifest_delete;
	struct st_upload_start		 upload_start;
	struct st_upload_write		 upload_write;
	struct st_upload		 upload;
	struct st_list			 list;
	struct st_referrers		 referrers;
};

#define CP(d, s)	strlcpy((d), (s), sizeof(d))

static void
mkreq(struct treq *r, const char *repo, const char *ref)
{
	memset(r, 0, sizeof(*r));
	CP(r->repo, repo);
	CP(r->ref, ref);
	r->len = -1;
	r->n = -1;
}

static size_t
encode_upload(uint32_t type, const struct treq *r, union payload *p)
{
	switch (type) {
	case ST_UPLOAD_START:
		CP(p->upload_start.repo, r->repo);
		CP(p->upload_start.mount_digest, r->arg);
		CP(p->upload_start.from_repo, r->arg2);
		p->upload_start.flags = r->flags;
		return (sizeof(p->upload_start));
	case ST_UPLOAD_WRITE:
		CP(p->upload_write.repo, r->repo);
		CP(p->upload_write.uuid, r->arg);
		CP(p->upload_write.digest, r->ref);
		p->upload_write.off = r->off;
		p->upload_write.flags = r->flags;
		return (sizeof(p->upload_write));
	default:
		CP(p->upload.repo, r->repo);
		CP(p->upload.uuid, r->arg);
		return (sizeof(p->upload));
	}
}

/* The payload of a request of type, its length. */
static size_t
encode(uint32_t type, const struct treq *r, union payload *p)
{
	memset(p, 0, sizeof(*p));
	switch (type) {
	case ST_BLOB_GET:
		CP(p->blob_get.repo, r->repo);
		CP(p->blob_get.digest, r->ref);
		p->blob_get.flags = r->flags;
		return (sizeof(p->blob_get));
	case ST_BLOB_DELETE:
		CP(p->blob_delete.repo, r->repo);
		CP(p->blob_delete.digest, r->ref);
		return (sizeof(p->blob_delete));
	case ST_MANIFEST_GET:
		CP(p->manifest_get.repo, r->repo);
		CP(p->manifest_get.ref, r->ref);
		p->manifest_get.flags = r->flags;
		return (sizeof(p->manifest_get));
	case ST_MANIFEST_PUT:
		CP(p->manifest_put.repo, r->repo);
		CP(p->manifest_put.ref, r->ref);
		CP(p->manifest_put.mediatype, r->mediatype);
		p->manifest_put.len = r->len;
		p->manifest_put.limit = r->n;
		p->manifest_put.flags = r->flags;
		return (sizeof(p->manifest_put));
	case ST_MANIFEST_DELETE:
		CP(p->manifest_delete.repo, r->repo);
		CP(p->manifest_delete.ref, r->ref);
		return (sizeof(p->manifest_delete));
	case ST_UPLOAD_START:
	case ST_UPLOAD_WRITE:
	case ST_UPLOAD_STATUS:
	case ST_UPLOAD_CANCEL:
		return (encode_upload(type, r, p));
	case ST_TAGS_LIST:
	case ST_CATALOG:
		CP(p->list.repo, r->repo);
		CP(p->list.last, r->arg);
		p->list.limit = r->n;
		return (sizeof(p->list));
	case ST_REFERRERS:
		CP(p->referrers.repo, r->repo);
		CP(p->referrers.digest, r->ref);
		CP(p->referrers.artifact_type, r->mediatype);
		return (sizeof(p->referrers));
	default:
		return (0);
	}
}

static uint32_t
send_req(struct chan *c, uint32_t type, const struct treq *r)
{
	union payload	 p;
	size_t		 len;
	uint32_t	 id = nextid++;

	len = encode(type, r, &p);
	if (chan_compose(c, type, id, -1, &p, len) == -1 ||
	    chan_flush(c) == -1)
		fail("send request: %s", strerror(errno));
	return (id);
}

static void
send_data(struct chan *c, uint32_t id, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 n;

	while (len > 0) {
		n = len > DATA_CHUNK ? DATA_CHUNK : len;
		if (chan_compose(c, ST_DATA, id, -1, p, n) == -1 ||
		    chan_flush(c) == -1) {
			fail("send data: %s", strerror(errno));
			return;
		}
		p += n;
		len -= n;
	}
}

static void
send_empty(struct chan *c, uint32_t type, uint32_t id)
{
	if (chan_compose(c, type, id, -1, NULL, 0) == -1 ||
	    chan_flush(c) == -1)
		fail("send %u: %s", type, strerror(errno));
}

/* Wait for the answer to id; 0 with res (and maybe *fdp) filled. */
static char	*inline_body;	/* the body of the last answer, if any */
static size_t	 inline_len;

static int
recv_res(struct chan *c, uint32_t id, struct st_res *res, int *fdp)
{
	struct msg	 m;
	int		 r;

	memset(res, 0, sizeof(*res));
	if (fdp != NULL)
		*fdp = -1;
	if ((r = chan_recv_one(c, &m, TIMEOUT)) != 1) {
		fail("no answer to %u: %s", id, r == 0 ? "end of file" :
		    strerror(errno));
		return (-1);
	}
	if (m.hdr.type != ST_RES || m.len < sizeof(*res) ||
	    m.hdr.peerid != id) {
		fail("unexpected message type %u len %zu id %u (want %u)",
		    m.hdr.type, m.len, m.hdr.peerid, id);
		if (m.fd != -1)
			close(m.fd);
		return (-1);
	}
	memcpy(res, m.data, sizeof(*res));
	/* A small manifest comes inside the answer, res->size bytes. */
	free(inline_body);
	inline_body = NULL;
	inline_len = m.len - sizeof(*res);
	if (inline_len > 0) {
		if (m.fd != -1 || res->size != (int64_t)inline_len) {
			fail("body of %zu bytes with size %lld and fd %d",
			    inline_len, (long long)res->size, m.fd);
			return (-1);
		}
		if ((inline_body = malloc(inline_len + 1)) == NULL)
			err(1, "malloc");
		memcpy(inline_body, (char *)m.data + sizeof(*res), inline_len);
		inline_body[inline_len] = '\0';
	}
	if (fdp != NULL)
		*fdp = m.fd;
	else if (m.fd != -1)
		close(m.fd);
	return (0);
}

/* One request without a body, answered. */
static int
call(struct chan *c, uint32_t type, const struct treq *r,
    struct st_res *res, int *fdp)
{
	uint32_t	 id;

	id = send_req(c, type, r);
	return (recv_res(c, id, res, fdp));
}

/* One request with a body, answered at its end. */
static int
call_body(struct chan *c, uint32_t type, const struct treq *r,
    const void *body, size_t len, struct st_res *res)
{
	uint32_t	 id;

	id = send_req(c, type, r);
	send_data(c, id, body, len);
	send_empty(c, ST_DATA_END, id);
	return (recv_res(c, id, res, NULL));
}

static void
want_status(const struct st_res *res, int status, const char *code)
{
	if (res->status != status)
		fail("status %d (%s: %s), want %d", res->status, res->code,
		    res->message, status);
	else if (code != NULL && strcmp(res->code, code) != 0)
		fail("code %s, want %s", res->code, code);
}

static char *
read_fd(int fd, size_t *lenp)
{
	char	*buf = NULL, *nbuf;
	size_t	 len = 0, size = 0;
	ssize_t	 n;

	for (;;) {
		if (len + 65536 > size) {
			size = size == 0 ? 65536 : size * 2;
			if ((nbuf = realloc(buf, size + 1)) == NULL)
				break;
			buf = nbuf;
		}
		if ((n = read(fd, buf + len, size - len)) <= 0)
			break;
		len += n;
	}
	if (buf != NULL)
		buf[len] = '\0';
	*lenp = len;
	return (buf);
}

static char *
read_path(const char *rel, size_t *lenp)
{
	char	 path[PATH_MAX * 2];
	char	*buf;
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if ((fd = open(path, O_RDONLY)) == -1)
		return (NULL);
	buf = read_fd(fd, lenp);
	close(fd);
	return (buf);
}

static int
exists(const char *fmt, ...)
{
	char		 rel[PATH_MAX], path[PATH_MAX * 2];
	struct stat	 st;
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return (stat(path, &st) == 0);
}

static void
want_file(const char *rel, const void *want, size_t wantlen)
{
	char	*buf;
	size_t	 len;

	if ((buf = read_path(rel, &len)) == NULL) {
		fail("%s: %s", rel, strerror(errno));
		return;
	}
	if (len != wantlen || memcmp(buf, want, len) != 0)
		fail("%s: %zu bytes, not the %zu expected", rel, len,
		    wantlen);
	free(buf);
}

/* The body of a listing answer, or NULL (and a failure) if none. */
static char *
body_of(const struct st_res *res, int fd)
{
	char	*body;
	size_t	 len;

	if (fd == -1 || !(res->flags & STR_HASBODY)) {
		fail("listing without a body");
		if (fd != -1)
			close(fd);
		return (NULL);
	}
	body = read_fd(fd, &len);
	close(fd);
	if (body != NULL && (int64_t)len != res->size)
		fail("body is %zu bytes, answer says %lld", len,
		    (long long)res->size);
	return (body);
}

static void
want_body(const struct st_res *res, int fd, const char *want)
{
	char	*body;

	if ((body = body_of(res, fd)) == NULL)
		return;
	if (strcmp(body, want) != 0)
		fail("body %s, want %s", body, want);
	free(body);
}

/* What a repository links, to check the control socket's byte counts. */
static struct {
	char	 repo[64];
	char	 digest[MAX_DIGEST + 1];
	size_t	 size;
}		 linked[64];
static size_t	 nlinked;

static void
track(const char *repo, const char *digest, size_t size)
{
	size_t	 i;

	for (i = 0; i < nlinked; i++)
		if (strcmp(linked[i].repo, repo) == 0 &&
		    strcmp(linked[i].digest, digest) == 0)
			return;
	if (nlinked == sizeof(linked) / sizeof(linked[0]))
		errx(1, "track: too many");
	strlcpy(linked[nlinked].repo, repo, sizeof(linked[nlinked].repo));
	strlcpy(linked[nlinked].digest, digest,
	    sizeof(linked[nlinked].digest));
	linked[nlinked++].size = size;
}

static size_t
tracked_bytes(const char *repo)
{
	size_t	 i, sum = 0;

	for (i = 0; i < nlinked; i++)
		if (strcmp(linked[i].repo, repo) == 0)
			sum += linked[i].size;
	return (sum);
}

static void
start_storage(void)
{
	struct proc_boot	 boot;
	struct msg		 m;
	int			 ps[2], ls[2], fs[NFRONT][2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, ps) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, ls) == -1)
		err(1, "socketpair");
	for (i = 0; i < NFRONT; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fs[i]) == -1)
			err(1, "socketpair");
	fflush(stdout);
	switch (storage_pid = fork()) {
	case -1:
		err(1, "fork");
	case 0:
		close(ps[0]);
		close(ls[0]);
		/* As the parent's proc_start makes it. */
		memset(&boot, 0, sizeof(boot));
		boot.kind = PROC_STORAGE;
		boot.parentfd = ps[1];
		boot.chroot = env->conf->storage;
		boot.sandbox = SANDBOX_STORAGE;
		boot.fds[boot.nfds].kind = PROC_LOGGER;
		boot.fds[boot.nfds++].fd = ls[1];
		for (i = 0; i < NFRONT; i++) {
			close(fs[i][0]);
			boot.fds[boot.nfds].kind = PROC_FRONTEND;
			boot.fds[boot.nfds].instance = i;
			boot.fds[boot.nfds++].fd = fs[i][1];
		}
		storage_main(&boot);
	}
	close(ps[1]);
	close(ls[1]);
	chan_init(&pc, ps[0]);
	loggerfd = ls[0];
	for (i = 0; i < NFRONT; i++) {
		close(fs[i][1]);
		chan_init(&fc[i], fs[i][0]);
	}
	/* Storage tells the parent once it serves, as the others do. */
	if (chan_recv_one(&pc, &m, TIMEOUT) != 1 || m.hdr.type != MSG_READY ||
	    m.len != 0)
		errx(1, "storage did not send MSG_READY first");
	if (m.fd != -1)
		close(m.fd);
}

/* Give frontend slot a fresh channel, as the parent does on respawn. */
static void
new_frontend(int slot)
{
	struct msg_peer	 mp;
	int		 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		err(1, "socketpair");
	chan_clear(&fc[slot]);
	chan_init(&fc[slot], sp[0]);
	mp.kind = PROC_FRONTEND;
	mp.instance = slot;
	if (chan_compose(&pc, MSG_PEER_ADD, 0, sp[1], &mp, sizeof(mp)) ==
	    -1 || chan_flush(&pc) == -1)
		fail("send peer: %s", strerror(errno));
}

/* Storage must close the channel: read until end of file. */
static int
wait_closed(struct chan *c)
{
	struct msg	 m;
	int		 r;

	while ((r = chan_recv_one(c, &m, TIMEOUT)) == 1)
		if (m.fd != -1)
			close(m.fd);
	return (r == 0);
}

/* Run a control request on the parent channel and collect its text. */
static char *
ctl_text(uint32_t type, const char *repo)
{
	struct st_ctl_repo	 cr;
	struct msg		 m;
	char			*text = NULL, *nt;
	size_t			 len = 0;
	uint32_t		 id = nextid++;

	memset(&cr, 0, sizeof(cr));
	if (repo != NULL)
		CP(cr.repo, repo);
	if (chan_compose(&pc, type, id, -1, &cr, repo != NULL ?
	    sizeof(cr) : 0) == -1 ||
	    chan_flush(&pc) == -1) {
		fail("send ctl: %s", strerror(errno));
		return (NULL);
	}
	for (;;) {
		if (chan_recv_one(&pc, &m, TIMEOUT) != 1) {
			fail("no control answer");
			free(text);
			return (NULL);
		}
		if ((m.hdr.type != ST_CTL_RES && m.hdr.type != ST_CTL_END) ||
		    m.hdr.peerid != id) {
			fail("unexpected message %u on parent channel",
			    m.hdr.type);
			free(text);
			return (NULL);
		}
		if (m.hdr.type == ST_CTL_END)
			break;
		if (m.len >= 64 * 1024)
			fail("control chunk of %zu bytes", m.len);
		if ((nt = realloc(text, len + m.len + 1)) == NULL)
			err(1, "realloc");
		text = nt;
		memcpy(text + len, m.data, m.len);
		len += m.len;
	}
	if (text == NULL)
		text = strdup("");
	else
		text[len] = '\0';
	return (text);
}

/* Upload a blob in one request; returns the digest answer. */
static void
push_blob(const char *repo, const void *buf, size_t len, char *digest,
    size_t dlen)
{
	struct treq	 r;
	struct st_res	 res;

	sha("sha256", buf, len, digest, dlen);
	mkreq(&r, repo, digest);
	r.flags = STF_FINAL | STF_NEWSESSION;
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, buf, len, &res) == 0)
		want_status(&res, 201, NULL);
	if (res.status == 201)
		track(repo, digest, len);
}

static void
push_manifest(const char *repo, const char *ref, const char *ctype,
    const char *body, struct st_res *res)
{
	struct treq	 r;

	mkreq(&r, repo, ref);
	strlcpy(r.mediatype, ctype, sizeof(r.mediatype));
	r.len = strlen(body);
	if (call_body(&fc[0], ST_MANIFEST_PUT, &r, body, strlen(body),
	    res) == 0 && res->status == 201)
		track(repo, res->digest, strlen(body));
}

static size_t
count_uploads(const char *repo)
{
	char		 path[PATH_MAX * 2];
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	snprintf(path, sizeof(path), "%s/%s/repositories/%s/_uploads", root,
	    V2, repo);
	if ((d = opendir(path)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

static unsigned char	 blob[400 * 1024];
static char		 blobdigest[MAX_DIGEST + 1];
static char		 mdigest[MAX_DIGEST + 1];
static char		 manifest[4096];
static char		 cfgdigest[MAX_DIGEST + 1];

static void
t_chunked_upload(void)
{
	struct treq	 r;
	struct st_res	 res;
	char		 uuid[MAX_UUID + 1], bad[MAX_DIGEST + 1];
	uint32_t	 id;

	fill(blob, sizeof(blob), 1);
	sha("sha256", blob, sizeof(blob), blobdigest, sizeof(blobdigest));

	mkreq(&r, REPO, "");
	if (call(&fc[0], ST_UPLOAD_START, &r, &res, NULL) == 0) {
		want_status(&res, 202, NULL);
		if (!valid_uuid(res.uuid) || res.off != 0)
			fail("uuid %s off %lld", res.uuid,
			    (long long)res.off);
		else if (!exists("%s/repositories/%s/_uploads/%s/data", V2,
		    REPO, res.uuid) ||
		    !exists("%s/repositories/%s/_uploads/%s/startedat", V2,
		    REPO, res.uuid))
			fail("upload files missing");
	}
	strlcpy(uuid, res.uuid, sizeof(uuid));
	result("upload start: 202, uuid, data and startedat");

	mkreq(&r, REPO, "");
	strlcpy(r.arg, uuid, sizeof(r.arg));
	r.flags = STF_HAVE_OFF;
	r.off = 0;
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, blob, 300 * 1024,
	    &res) == 0) {
		want_status(&res, 202, NULL);
		if (res.off != 300 * 1024 || strcmp(res.uuid, uuid) != 0)
			fail("off %lld uuid %s", (long long)res.off, res.uuid);
	}
	result("upload chunk of 300 KiB in three messages: 202");

	/* A wrong offset is answered at once, the data swallowed. */
	r.off = 5;
	id = send_req(&fc[0], ST_UPLOAD_WRITE, &r);
	if (recv_res(&fc[0], id, &res, NULL) == 0) {
		want_status(&res, 416, "BLOB_UPLOAD_INVALID");
		if (res.off != 300 * 1024)
			fail("416 with off %lld", (long long)res.off);
	}
	send_data(&fc[0], id, blob, 1000);
	send_empty(&fc[0], ST_DATA_END, id);
	mkreq(&r, REPO, "");
	strlcpy(r.arg, uuid, sizeof(r.arg));
	if (call(&fc[0], ST_UPLOAD_STATUS, &r, &res, NULL) == 0) {
		want_status(&res, 204, NULL);
		if (res.off != 300 * 1024)
			fail("status off %lld after 416", (long long)res.off);
	}
	result("wrong offset: 416 at once, data ignored, no second answer");

	sha("sha256", "nope", 4, bad, sizeof(bad));
	mkreq(&r, REPO, bad);
	strlcpy(r.arg, uuid, sizeof(r.arg));
	r.flags = STF_FINAL;
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, blob + 300 * 1024,
	    100 * 1024, &res) == 0)
		want_status(&res, 400, "DIGEST_INVALID");
	mkreq(&r, REPO, "");
	strlcpy(r.arg, uuid, sizeof(r.arg));
	if (call(&fc[0], ST_UPLOAD_STATUS, &r, &res, NULL) == 0 &&
	    res.off != 300 * 1024)
		fail("upload at %lld after a bad digest", (long long)res.off);
	result("final with the wrong digest: 400, upload truncated back");

	mkreq(&r, REPO, "sha256:zz");
	strlcpy(r.arg, uuid, sizeof(r.arg));
	r.flags = STF_FINAL;
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, "x", 1, &res) == 0)
		want_status(&res, 400, "DIGEST_INVALID");
	result("final with a malformed digest: 400 DIGEST_INVALID");

	mkreq(&r, REPO, blobdigest);
	strlcpy(r.arg, uuid, sizeof(r.arg));
	r.flags = STF_FINAL | STF_HAVE_OFF;
	r.off = 300 * 1024;
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, blob + 300 * 1024,
	    100 * 1024, &res) == 0) {
		want_status(&res, 201, NULL);
		if (strcmp(res.digest, blobdigest) != 0 ||
		    res.size != sizeof(blob))
			fail("digest %s size %lld", res.digest,
			    (long long)res.size);
		track(REPO, blobdigest, sizeof(blob));
	}
	{
		char	 rel[PATH_MAX];

		snprintf(rel, sizeof(rel), "%s/blobs/sha256/%.2s/%s/data", V2,
		    blobdigest + 7, blobdigest + 7);
		want_file(rel, blob, sizeof(blob));
		snprintf(rel, sizeof(rel),
		    "%s/repositories/%s/_layers/sha256/%s/link", V2, REPO,
		    blobdigest + 7);
		want_file(rel, blobdigest, strlen(blobdigest));
	}
	if (exists("%s/repositories/%s/_uploads/%s", V2, REPO, uuid))
		fail("upload directory left behind");
	result("final with the right digest: 201, blob and link on disk");

	mkreq(&r, REPO, "");
	strlcpy(r.arg, uuid, sizeof(r.arg));
	if (call(&fc[0], ST_UPLOAD_STATUS, &r, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UPLOAD_UNKNOWN");
	strlcpy(r.arg, "not-a-uuid", sizeof(r.arg));
	if (call(&fc[0], ST_UPLOAD_STATUS, &r, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UPLOAD_UNKNOWN");
	r.flags = 0;
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, "x", 1, &res) == 0)
		want_status(&res, 404, "BLOB_UPLOAD_UNKNOWN");
	result("finished or malformed upload ids: 404 BLOB_UPLOAD_UNKNOWN");
}

static void
t_blob_get(void)
{
	struct treq	 r;
	struct st_res	 res;
	char		*buf;
	size_t		 len;
	int		 fd;

	mkreq(&r, REPO, blobdigest);
	if (call(&fc[0], ST_BLOB_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (res.size != sizeof(blob) || fd == -1)
			fail("size %lld fd %d", (long long)res.size, fd);
		else {
			buf = read_fd(fd, &len);
			if (buf == NULL || len != sizeof(blob) ||
			    memcmp(buf, blob, len) != 0)
				fail("descriptor gives other bytes");
			free(buf);
		}
		if (fd != -1)
			close(fd);
	}
	result("blob get: 200 and a descriptor on the right bytes");

	r.flags = STF_HEAD;
	if (call(&fc[0], ST_BLOB_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (fd != -1) {
			fail("descriptor on HEAD");
			close(fd);
		}
		if (strcmp(res.digest, blobdigest) != 0)
			fail("digest %s", res.digest);
	}
	result("blob head: 200 without a descriptor");

	mkreq(&r, REPO2, blobdigest);
	if (call(&fc[0], ST_BLOB_GET, &r, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UNKNOWN");
	mkreq(&r, REPO, EMPTY_CONFIG);
	if (call(&fc[0], ST_BLOB_GET, &r, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UNKNOWN");
	result("blob not linked in the repository: 404 BLOB_UNKNOWN");

	mkreq(&r, REPO, "sha256:1234");
	if (call(&fc[0], ST_BLOB_GET, &r, &res, NULL) == 0)
		want_status(&res, 400, "DIGEST_INVALID");
	mkreq(&r, REPO, "sha256/../../etc");
	if (call(&fc[0], ST_BLOB_GET, &r, &res, NULL) == 0)
		want_status(&res, 400, "DIGEST_INVALID");
	result("malformed digests: 400 DIGEST_INVALID");

	mkreq(&r, "../etc", blobdigest);
	if (call(&fc[0], ST_BLOB_GET, &r, &res, NULL) == 0)
		want_status(&res, 400, "NAME_INVALID");
	mkreq(&r, "Test/App", "v1");
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, NULL) == 0)
		want_status(&res, 400, "NAME_INVALID");
	mkreq(&r, "a//b", "");
	if (call(&fc[0], ST_UPLOAD_START, &r, &res, NULL) == 0)
		want_status(&res, 400, "NAME_INVALID");
	mkreq(&r, "/abs", "");
	if (call(&fc[0], ST_TAGS_LIST, &r, &res, NULL) == 0)
		want_status(&res, 400, "NAME_INVALID");
	result("invalid repository names: 400 NAME_INVALID");
}

static void
t_small_blobs(void)
{
	struct treq	 r;
	struct st_res	 res;
	char		 d[MAX_DIGEST + 1], rel[PATH_MAX];
	int		 fd;

	push_blob(REPO, "{}", 2, cfgdigest, sizeof(cfgdigest));
	if (strcmp(cfgdigest, EMPTY_CONFIG) != 0)
		fail("digest of {} is %s", cfgdigest);
	result("monolithic upload of the empty config {}: 201");

	push_blob(REPO, "", 0, d, sizeof(d));
	mkreq(&r, REPO, EMPTY_BLOB);
	if (call(&fc[0], ST_BLOB_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (res.size != 0)
			fail("size %lld", (long long)res.size);
		if (fd != -1)
			close(fd);
	}
	result("zero-length blob: 201 and served with size 0");

	if (count_uploads(REPO) != 0)
		fail("%zu uploads left", count_uploads(REPO));
	result("monolithic uploads leave no upload directory");

	{
		unsigned char	 b[5000];
		char		 d512[MAX_DIGEST + 1];

		fill(b, sizeof(b), 7);
		sha("sha512", b, sizeof(b), d512, sizeof(d512));
		mkreq(&r, REPO, d512);
		r.flags = STF_FINAL | STF_NEWSESSION;
		if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, b, sizeof(b),
		    &res) == 0) {
			want_status(&res, 201, NULL);
			if (strcmp(res.digest, d512) != 0)
				fail("digest %s", res.digest);
			track(REPO, d512, sizeof(b));
		}
		snprintf(rel, sizeof(rel), "%s/blobs/sha512/%.2s/%s/data", V2,
		    d512 + 7, d512 + 7);
		want_file(rel, b, sizeof(b));
	}
	result("sha512 upload: 201, stored under blobs/sha512");
}

static void
t_resume(void)
{
	struct treq	 r;
	struct st_res	 res;
	unsigned char	 b[3000];
	char		 d[MAX_DIGEST + 1], uuid[MAX_UUID + 1];
	char		 path[PATH_MAX * 2];
	uint32_t	 id;
	int		 fd;

	fill(b, sizeof(b), 3);
	sha("sha256", b, sizeof(b), d, sizeof(d));
	mkreq(&r, REPO, "");
	call(&fc[0], ST_UPLOAD_START, &r, &res, NULL);
	strlcpy(uuid, res.uuid, sizeof(uuid));
	strlcpy(r.arg, uuid, sizeof(r.arg));
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, b, 1000, &res) == 0)
		want_status(&res, 202, NULL);

	/* An aborted chunk leaves the upload and its hash as they were. */
	id = send_req(&fc[0], ST_UPLOAD_WRITE, &r);
	send_data(&fc[0], id, "garbage that must go away", 25);
	send_empty(&fc[0], ST_DATA_ABORT, id);
	if (call(&fc[0], ST_UPLOAD_STATUS, &r, &res, NULL) == 0) {
		want_status(&res, 204, NULL);
		if (res.off != 1000)
			fail("off %lld after abort", (long long)res.off);
	}
	result("abort midway: upload truncated back, no answer");

	/* Bytes added behind storage's back force a re-hash. */
	snprintf(path, sizeof(path), "%s/%s/repositories/%s/_uploads/%s/data",
	    root, V2, REPO, uuid);
	if ((fd = open(path, O_WRONLY | O_APPEND)) == -1 ||
	    write(fd, b + 1000, 1000) != 1000)
		fail("append %s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	mkreq(&r, REPO, d);
	strlcpy(r.arg, uuid, sizeof(r.arg));
	r.flags = STF_FINAL | STF_HAVE_OFF;
	r.off = 2000;
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, b + 2000, 1000,
	    &res) == 0) {
		want_status(&res, 201, NULL);
		if (res.size != sizeof(b))
			fail("size %lld", (long long)res.size);
		track(REPO, d, sizeof(b));
	}
	result("resume after the hash state is stale: re-hash, 201");

	mkreq(&r, REPO, "");
	r.flags = STF_NEWSESSION;
	id = send_req(&fc[0], ST_UPLOAD_WRITE, &r);
	send_data(&fc[0], id, b, 100);
	send_empty(&fc[0], ST_DATA_ABORT, id);
	mkreq(&r, REPO, "");
	strlcpy(r.arg, "00000000-0000-4000-8000-000000000000",
	    sizeof(r.arg));
	call(&fc[0], ST_UPLOAD_STATUS, &r, &res, NULL);	/* a round trip */
	if (count_uploads(REPO) != 0)
		fail("%zu uploads left", count_uploads(REPO));
	result("abort of a new session removes the upload");
}

static void
t_concurrent(void)
{
	struct treq	 r;
	struct st_res	 res;
	char		 uuid[MAX_UUID + 1];
	uint32_t	 ida, idb;

	mkreq(&r, REPO, "");
	call(&fc[0], ST_UPLOAD_START, &r, &res, NULL);
	strlcpy(uuid, res.uuid, sizeof(uuid));
	strlcpy(r.arg, uuid, sizeof(r.arg));
	ida = send_req(&fc[0], ST_UPLOAD_WRITE, &r);
	send_data(&fc[0], ida, "aaaa", 4);
	idb = send_req(&fc[1], ST_UPLOAD_WRITE, &r);
	if (recv_res(&fc[1], idb, &res, NULL) == 0)
		want_status(&res, 416, "BLOB_UPLOAD_INVALID");
	send_data(&fc[1], idb, "bbbb", 4);
	send_empty(&fc[1], ST_DATA_END, idb);
	send_data(&fc[0], ida, "aaaa", 4);
	send_empty(&fc[0], ST_DATA_END, ida);
	if (recv_res(&fc[0], ida, &res, NULL) == 0) {
		want_status(&res, 202, NULL);
		if (res.off != 8)
			fail("off %lld", (long long)res.off);
	}
	result("second concurrent write to an upload: 416, first goes on");

	/* A frontend that dies mid-body: its chunk is undone. */
	ida = send_req(&fc[1], ST_UPLOAD_WRITE, &r);
	send_data(&fc[1], ida, "cccccccc", 8);
	chan_clear(&fc[1]);
	new_frontend(1);
	if (call(&fc[1], ST_UPLOAD_STATUS, &r, &res, NULL) == 0) {
		want_status(&res, 204, NULL);
		if (res.off != 8)
			fail("off %lld after the frontend died",
			    (long long)res.off);
	}
	result("frontend gone mid-body: chunk undone, new frontend served");

	if (call(&fc[0], ST_UPLOAD_CANCEL, &r, &res, NULL) == 0)
		want_status(&res, 204, NULL);
	if (call(&fc[0], ST_UPLOAD_CANCEL, &r, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UPLOAD_UNKNOWN");
	if (exists("%s/repositories/%s/_uploads/%s", V2, REPO, uuid))
		fail("upload still on disk");
	result("cancel: 204, then 404, directory gone");
}

static void
t_cancel_during_write(void)
{
	struct treq	 r;
	struct st_res	 res;
	uint32_t	 id;

	mkreq(&r, REPO, "");
	call(&fc[0], ST_UPLOAD_START, &r, &res, NULL);
	strlcpy(r.arg, res.uuid, sizeof(r.arg));
	id = send_req(&fc[0], ST_UPLOAD_WRITE, &r);
	send_data(&fc[0], id, "abc", 3);
	if (call(&fc[1], ST_UPLOAD_CANCEL, &r, &res, NULL) == 0)
		want_status(&res, 204, NULL);
	send_data(&fc[0], id, "def", 3);
	send_empty(&fc[0], ST_DATA_END, id);
	if (recv_res(&fc[0], id, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UPLOAD_UNKNOWN");
	if (call(&fc[0], ST_UPLOAD_STATUS, &r, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UPLOAD_UNKNOWN");
	result("cancel while a chunk streams: the write ends in 404");
}

/*
 * The storage child runs with a 1 MiB file size limit and SIGXFSZ
 * ignored, so a larger upload fails in write(2) like a full disk.
 */
static void
t_write_error(void)
{
	struct treq	 r;
	struct st_res	 res;
	unsigned char	*big;
	size_t		 len = 1536 * 1024;
	char		 d[MAX_DIGEST + 1];

	if ((big = malloc(len)) == NULL)
		err(1, "malloc");
	fill(big, len, 9);
	mkreq(&r, REPO, "");
	call(&fc[0], ST_UPLOAD_START, &r, &res, NULL);
	strlcpy(r.arg, res.uuid, sizeof(r.arg));
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, big, 1000, &res) == 0)
		want_status(&res, 202, NULL);
	sha("sha256", big, len, d, sizeof(d));
	strlcpy(r.ref, d, sizeof(r.ref));
	r.flags = STF_FINAL;
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, big + 1000, len - 1000,
	    &res) == 0)
		want_status(&res, 500, "UNKNOWN");
	r.flags = 0;
	if (call(&fc[0], ST_UPLOAD_STATUS, &r, &res, NULL) == 0) {
		want_status(&res, 204, NULL);
		if (res.off != 1000)
			fail("off %lld after the failed write",
			    (long long)res.off);
	}
	if (call(&fc[0], ST_UPLOAD_CANCEL, &r, &res, NULL) == 0)
		want_status(&res, 204, NULL);
	free(big);
	result("write error (file too large): 500, upload truncated back");
}

static void
t_manifests(void)
{
	struct treq	 r;
	struct st_res	 res;
	char		 bad[4096], rel[PATH_MAX], d[MAX_DIGEST + 1];
	int		 fd;

	sha("sha256", "missing", 7, d, sizeof(d));
	snprintf(bad, sizeof(bad), "{\"schemaVersion\":2,\"mediaType\":\"%s\","
	    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1"
	    "+json\",\"digest\":\"%s\",\"size\":2},\"layers\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\","
	    "\"size\":1}]}", MT_MANIFEST, cfgdigest, d);
	push_manifest(REPO, "v1", MT_MANIFEST, bad, &res);
	want_status(&res, 400, "MANIFEST_BLOB_UNKNOWN");
	if (strstr(res.message, d) == NULL)
		fail("message does not name the blob: %s", res.message);
	result("manifest with a missing layer: 400 MANIFEST_BLOB_UNKNOWN");

	snprintf(manifest, sizeof(manifest), "{\"schemaVersion\":2,"
	    "\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
	    "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\","
	    "\"size\":2},\"layers\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\","
	    "\"size\":%zu}],\"annotations\":{\"x\":\"y\"}}", MT_MANIFEST,
	    cfgdigest, blobdigest, sizeof(blob));
	sha("sha256", manifest, strlen(manifest), mdigest, sizeof(mdigest));
	push_manifest(REPO, "v1", MT_MANIFEST "; charset=utf-8", manifest,
	    &res);
	want_status(&res, 201, NULL);
	if (strcmp(res.digest, mdigest) != 0)
		fail("digest %s, want %s", res.digest, mdigest);
	snprintf(rel, sizeof(rel), "%s/blobs/sha256/%.2s/%s/data", V2,
	    mdigest + 7, mdigest + 7);
	want_file(rel, manifest, strlen(manifest));
	snprintf(rel, sizeof(rel),
	    "%s/repositories/%s/_manifests/revisions/sha256/%s/link", V2,
	    REPO, mdigest + 7);
	want_file(rel, mdigest, strlen(mdigest));
	snprintf(rel, sizeof(rel),
	    "%s/repositories/%s/_manifests/tags/v1/current/link", V2, REPO);
	want_file(rel, mdigest, strlen(mdigest));
	snprintf(rel, sizeof(rel),
	    "%s/repositories/%s/_manifests/tags/v1/index/sha256/%s/link", V2,
	    REPO, mdigest + 7);
	want_file(rel, mdigest, strlen(mdigest));
	result("manifest put by tag: 201, blob, revision and tag links");

	mkreq(&r, REPO, "v1");
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (strcmp(res.digest, mdigest) != 0 ||
		    strcmp(res.mediatype, MT_MANIFEST) != 0 ||
		    res.size != (int64_t)strlen(manifest))
			fail("digest %s type %s size %lld", res.digest,
			    res.mediatype, (long long)res.size);
		if (fd != -1)
			fail("a descriptor for a small manifest");
		else if (inline_body == NULL ||
		    strcmp(inline_body, manifest) != 0)
			fail("answer gives other bytes");
	}
	result("manifest get by tag: 200, type, digest, the exact bytes "
	    "inline");

	mkreq(&r, REPO, mdigest);
	r.flags = STF_HEAD;
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (fd != -1) {
			fail("descriptor on HEAD");
			close(fd);
		}
		if (strcmp(res.mediatype, MT_MANIFEST) != 0)
			fail("type %s", res.mediatype);
	}
	mkreq(&r, REPO, mdigest);
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (fd != -1)
			close(fd);
		if (inline_body == NULL || strcmp(inline_body, manifest) != 0)
			fail("no body inline");
	}
	result("manifest get and head by digest: 200");

	mkreq(&r, REPO, mdigest);
	if (call(&fc[0], ST_BLOB_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (fd != -1)
			close(fd);
	}
	result("a manifest can be fetched as a blob");

	mkreq(&r, REPO, "nosuchtag");
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, NULL) == 0)
		want_status(&res, 404, "MANIFEST_UNKNOWN");
	mkreq(&r, REPO, d);
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, NULL) == 0)
		want_status(&res, 404, "MANIFEST_UNKNOWN");
	mkreq(&r, REPO, "sha256:totallywrong");
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, NULL) == 0)
		want_status(&res, 400, "DIGEST_INVALID");
	mkreq(&r, REPO, "-bad-tag");
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, NULL) == 0)
		want_status(&res, 400, "TAG_INVALID");
	result("unknown and malformed references: 404 / 400");

	push_manifest(REPO, "x", MT_MANIFEST, "{\"schemaVersion\":2,", &res);
	want_status(&res, 400, "MANIFEST_INVALID");
	push_manifest(REPO, "x", "", "[1,2]", &res);
	want_status(&res, 400, "MANIFEST_INVALID");
	push_manifest(REPO, "x", MT_MANIFEST, "{\"schemaVersion\":1}", &res);
	want_status(&res, 400, "MANIFEST_INVALID");
	push_manifest(REPO, "x", MT_INDEX, manifest, &res);
	want_status(&res, 400, "MANIFEST_INVALID");
	push_manifest(REPO, "x", "application/x-foo",
	    "{\"schemaVersion\":2,\"layers\":[]}", &res);
	want_status(&res, 400, "MANIFEST_INVALID");
	snprintf(bad, sizeof(bad), "{\"schemaVersion\":2,\"config\":{\"digest\""
	    ":\"sha256:nothex\"},\"layers\":[]}");
	push_manifest(REPO, "x", "", bad, &res);
	want_status(&res, 400, "MANIFEST_INVALID");
	snprintf(bad, sizeof(bad), "{\"schemaVersion\":2,\"config\":{"
	    "\"digest\":\"%s\",\"size\":\"big\"},\"layers\":[]}", cfgdigest);
	push_manifest(REPO, "x", "", bad, &res);
	want_status(&res, 400, "MANIFEST_INVALID");
	push_manifest(REPO, d, MT_MANIFEST, manifest, &res);
	want_status(&res, 400, "DIGEST_INVALID");
	push_manifest(REPO, "bad tag", MT_MANIFEST, manifest, &res);
	want_status(&res, 400, "TAG_INVALID");
	push_manifest("UPPER", "x", MT_MANIFEST, manifest, &res);
	want_status(&res, 400, "NAME_INVALID");
	if (exists("%s/repositories/%s/_manifests/tags/x", V2, REPO))
		fail("a rejected manifest left a tag");
	result("invalid manifests: 400 MANIFEST_INVALID and friends");

	push_manifest(REPO, mdigest, MT_MANIFEST, manifest, &res);
	want_status(&res, 201, NULL);
	push_manifest(REPO, "a", MT_MANIFEST, manifest, &res);
	want_status(&res, 201, NULL);
	push_manifest(REPO, "b", "", manifest, &res);
	want_status(&res, 201, NULL);
	push_manifest(REPO, "c", MT_MANIFEST, manifest, &res);
	want_status(&res, 201, NULL);
	result("manifest put by digest and more tags: 201");

	/* A foreign layer need not be in the repository. */
	snprintf(bad, sizeof(bad), "{\"schemaVersion\":2,\"config\":{"
	    "\"digest\":\"%s\",\"size\":2},\"layers\":[{\"digest\":\"%s\","
	    "\"size\":1,\"urls\":[\"https://example.com/l\"]}]}", cfgdigest,
	    d);
	push_manifest(REPO, "foreign", "", bad, &res);
	want_status(&res, 201, NULL);
	mkreq(&r, REPO, "foreign");
	if (call(&fc[0], ST_MANIFEST_DELETE, &r, &res, NULL) == 0)
		want_status(&res, 202, NULL);
	result("foreign layer with urls: accepted without the blob");
}

static void
t_index_referrers(void)
{
	struct treq	 r;
	struct st_res	 res;
	char		 idx[2048], art[2048], want[4096];
	char		 idxdigest[MAX_DIGEST + 1], artdigest[MAX_DIGEST + 1];
	char		 d[MAX_DIGEST + 1], *body;
	int		 fd;

	snprintf(idx, sizeof(idx), "{\"schemaVersion\":2,\"manifests\":[{"
	    "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
	    MT_MANIFEST, mdigest, strlen(manifest));
	push_manifest(REPO, "multi", MT_INDEX, idx, &res);
	want_status(&res, 201, NULL);
	sha("sha256", idx, strlen(idx), idxdigest, sizeof(idxdigest));
	mkreq(&r, REPO, "multi");
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (strcmp(res.mediatype, MT_INDEX) != 0)
			fail("type %s", res.mediatype);
		if (fd != -1)
			close(fd);
	}
	sha("sha256", "x", 1, d, sizeof(d));
	snprintf(idx, sizeof(idx), "{\"schemaVersion\":2,\"manifests\":[{"
	    "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1}]}",
	    MT_MANIFEST, d);
	push_manifest(REPO, "multi2", MT_INDEX, idx, &res);
	want_status(&res, 400, "MANIFEST_BLOB_UNKNOWN");
	result("index: 201 with known children, 400 with unknown ones");

	/* An artifact whose subject is the image, and one about nothing. */
	snprintf(art, sizeof(art), "{\"schemaVersion\":2,\"mediaType\":\"%s\","
	    "\"artifactType\":\"application/vnd.example.sbom\",\"config\":{"
	    "\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":"
	    "\"%s\",\"size\":2},\"layers\":[],\"subject\":{\"mediaType\":"
	    "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"annotations\":{"
	    "\"org.example\":\"yes\"}}", MT_MANIFEST, cfgdigest, MT_MANIFEST,
	    mdigest, strlen(manifest));
	sha("sha256", art, strlen(art), artdigest, sizeof(artdigest));
	push_manifest(REPO, artdigest, MT_MANIFEST, art, &res);
	want_status(&res, 201, NULL);
	if (strcmp(res.subject, mdigest) != 0)
		fail("subject %s", res.subject);
	snprintf(art, sizeof(art), "{\"schemaVersion\":2,\"config\":{"
	    "\"mediaType\":\"application/vnd.example.cfg\",\"digest\":\"%s\","
	    "\"size\":2},\"layers\":[],\"subject\":{\"digest\":\"%s\","
	    "\"size\":5}}", cfgdigest, d);
	push_manifest(REPO, "dangling", "", art, &res);
	want_status(&res, 201, NULL);
	if (strcmp(res.subject, d) != 0)
		fail("subject %s", res.subject);
	result("manifests with a subject (even a missing one): 201 + subject");

	mkreq(&r, REPO, mdigest);
	/* The first artifact again, for its size. */
	snprintf(art, sizeof(art), "{\"schemaVersion\":2,\"mediaType\":\"%s\","
	    "\"artifactType\":\"application/vnd.example.sbom\",\"config\":{"
	    "\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":"
	    "\"%s\",\"size\":2},\"layers\":[],\"subject\":{\"mediaType\":"
	    "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"annotations\":{"
	    "\"org.example\":\"yes\"}}", MT_MANIFEST, cfgdigest, MT_MANIFEST,
	    mdigest, strlen(manifest));
	snprintf(want, sizeof(want), "{\"schemaVersion\":2,\"mediaType\":\"%s\","
	    "\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":"
	    "%zu,\"artifactType\":\"application/vnd.example.sbom\","
	    "\"annotations\":{\"org.example\":\"yes\"}}]}", MT_INDEX,
	    MT_MANIFEST, artdigest, strlen(art));
	if (call(&fc[0], ST_REFERRERS, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (strcmp(res.mediatype, MT_INDEX) != 0 ||
		    (res.flags & STR_FILTERED))
			fail("type %s flags %x", res.mediatype, res.flags);
		want_body(&res, fd, want);
	}
	result("referrers: the artifact with artifactType and annotations");

	strlcpy(r.mediatype, "application/vnd.example.sbom",
	    sizeof(r.mediatype));
	if (call(&fc[0], ST_REFERRERS, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (!(res.flags & STR_FILTERED))
			fail("STR_FILTERED not set");
		want_body(&res, fd, want);
	}
	strlcpy(r.mediatype, "application/other", sizeof(r.mediatype));
	snprintf(want, sizeof(want), "{\"schemaVersion\":2,\"mediaType\":"
	    "\"%s\",\"manifests\":[]}", MT_INDEX);
	if (call(&fc[0], ST_REFERRERS, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, want);
	}
	result("referrers with an artifactType filter");

	mkreq(&r, REPO, d);
	if (call(&fc[0], ST_REFERRERS, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		body = body_of(&res, fd);
		if (body != NULL && strstr(body,
		    "\"artifactType\":\"application/vnd.example.cfg\"") == NULL)
			fail("artifactType from config missing: %s", body);
		free(body);
	}
	mkreq(&r, "no/such/repo", mdigest);
	if (call(&fc[0], ST_REFERRERS, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, want);
	}
	mkreq(&r, REPO, "sha256:abc");
	if (call(&fc[0], ST_REFERRERS, &r, &res, NULL) == 0)
		want_status(&res, 400, "DIGEST_INVALID");
	result("referrers: config type fallback, unknown repo 200, bad 400");
}

static void
t_tags_catalog(void)
{
	struct treq	 r;
	struct st_res	 res;
	char		*body = NULL;
	size_t		 blen;
	int		 fd;

	mkreq(&r, REPO, "");
	r.n = 2;
	if (call(&fc[0], ST_TAGS_LIST, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, "{\"name\":\"test/app\",\"tags\":[\"a\","
		    "\"b\"]}");
		if (!(res.flags & STR_MORE) || strcmp(res.last, "b") != 0)
			fail("flags %x last %s", res.flags, res.last);
	}
	result("tags list n=2: first page, STR_MORE, last=b");

	strlcpy(r.arg, "b", sizeof(r.arg));
	r.n = 3;
	if (call(&fc[0], ST_TAGS_LIST, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, "{\"name\":\"test/app\",\"tags\":[\"c\","
		    "\"dangling\",\"multi\"]}");
		if (!(res.flags & STR_MORE) || strcmp(res.last, "multi") != 0)
			fail("flags %x last %s", res.flags, res.last);
	}
	strlcpy(r.arg, "multi", sizeof(r.arg));
	if (call(&fc[0], ST_TAGS_LIST, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, "{\"name\":\"test/app\",\"tags\":"
		    "[\"v1\"]}");
		if (res.flags & STR_MORE)
			fail("STR_MORE on the last page");
	}
	result("tags list with last: following pages, the end without more");

	r.n = 0;
	r.arg[0] = '\0';
	if (call(&fc[0], ST_TAGS_LIST, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, "{\"name\":\"test/app\",\"tags\":[]}");
		if (res.flags & STR_MORE)
			fail("STR_MORE with n=0");
	}
	r.n = -1;
	if (call(&fc[0], ST_TAGS_LIST, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, "{\"name\":\"test/app\",\"tags\":[\"a\","
		    "\"b\",\"c\",\"dangling\",\"multi\",\"v1\"]}");
	}
	mkreq(&r, "no/such", "");
	if (call(&fc[0], ST_TAGS_LIST, &r, &res, NULL) == 0)
		want_status(&res, 404, "NAME_UNKNOWN");
	result("tags list n=0, all, unknown repository 404 NAME_UNKNOWN");

	/* A second repository by cross-mount, then the catalog. */
	mkreq(&r, REPO2, "");
	strlcpy(r.arg, blobdigest, sizeof(r.arg));
	strlcpy(r.arg2, REPO, sizeof(r.arg2));
	if (call(&fc[0], ST_UPLOAD_START, &r, &res, NULL) == 0) {
		want_status(&res, 201, NULL);
		if (!(res.flags & STR_MOUNTED) ||
		    strcmp(res.digest, blobdigest) != 0 ||
		    res.size != sizeof(blob))
			fail("flags %x digest %s", res.flags, res.digest);
		track(REPO2, blobdigest, sizeof(blob));
	}
	/* Without a source storage mounts nothing: an upload starts. */
	strlcpy(r.arg, cfgdigest, sizeof(r.arg));
	strlcpy(r.arg2, "", sizeof(r.arg2));
	if (call(&fc[0], ST_UPLOAD_START, &r, &res, NULL) == 0) {
		want_status(&res, 202, NULL);
		if (!valid_uuid(res.uuid))
			fail("no upload after a mount without a source");
	}
	/* It names the repositories a source could be, for the frontend. */
	r.flags = STF_MOUNT_WHERE;
	if (call(&fc[0], ST_UPLOAD_START, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (fd == -1 || (body = read_fd(fd, &blen)) == NULL ||
		    strstr(body, "\"" REPO "\"") == NULL ||
		    strstr(body, "\"" REPO2 "\"") != NULL)
			fail("sources of the config: %s", body != NULL ? body :
			    "none");
		free(body);
		body = NULL;
		if (fd != -1)
			close(fd);
	}
	r.flags = 0;
	strlcpy(r.arg2, REPO, sizeof(r.arg2));
	if (call(&fc[0], ST_UPLOAD_START, &r, &res, NULL) == 0) {
		want_status(&res, 201, NULL);
		track(REPO2, cfgdigest, 2);
	}
	mkreq(&r, "third", "");
	strlcpy(r.arg, blobdigest, sizeof(r.arg));
	strlcpy(r.arg2, "no/such", sizeof(r.arg2));
	if (call(&fc[0], ST_UPLOAD_START, &r, &res, NULL) == 0) {
		want_status(&res, 202, NULL);
		if (!valid_uuid(res.uuid))
			fail("no upload after a failed mount");
	}
	result("cross-mount: 201 mounted; from a repo without it: 202");

	push_manifest(REPO2, "latest", MT_MANIFEST, manifest, &res);
	want_status(&res, 201, NULL);
	mkreq(&r, "", "");
	if (call(&fc[0], ST_CATALOG, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, "{\"repositories\":[\"other/repo\","
		    "\"test/app\"]}");
	}
	r.n = 1;
	if (call(&fc[0], ST_CATALOG, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, "{\"repositories\":[\"other/repo\"]}");
		if (!(res.flags & STR_MORE) ||
		    strcmp(res.last, "other/repo") != 0)
			fail("flags %x last %s", res.flags, res.last);
	}
	strlcpy(r.arg, "other/repo", sizeof(r.arg));
	if (call(&fc[0], ST_CATALOG, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, "{\"repositories\":[\"test/app\"]}");
		if (res.flags & STR_MORE)
			fail("STR_MORE at the end");
	}
	result("catalog: only repositories with manifests, paginated");
}

static void
t_ctl(void)
{
	struct treq	 r;
	char		*text, want[512];

	text = ctl_text(ST_CTL_REPOS, NULL);
	snprintf(want, sizeof(want), "test/app\t6\t%zu\n",
	    tracked_bytes(REPO));
	if (text != NULL && strstr(text, want) == NULL)
		fail("%s has no line %s", text, want);
	snprintf(want, sizeof(want), "other/repo\t1\t%zu\n",
	    tracked_bytes(REPO2));
	if (text != NULL && strstr(text, want) == NULL)
		fail("%s has no line %s", text, want);
	if (text != NULL && strstr(text, "third\t0\t0\n") != NULL)
		fail("a repository without manifests is listed");
	free(text);
	result("control: repositories with tag counts and sizes");

	mkreq(&r, REPO2, "");
	text = ctl_text(ST_CTL_TAGS, r.repo);
	snprintf(want, sizeof(want), "latest\t%s\n", mdigest);
	if (text != NULL && strcmp(text, want) != 0)
		fail("tags: %s", text);
	free(text);
	mkreq(&r, "no/such", "");
	text = ctl_text(ST_CTL_TAGS, r.repo);
	if (text != NULL && strcmp(text, "error: no such repository\n") != 0)
		fail("unknown repository: %s", text);
	free(text);
	result("control: tags of a repository, unknown repository");
}

static void
t_deletes(void)
{
	struct treq	 r;
	struct st_res	 res;
	int		 fd;

	mkreq(&r, REPO, "a");
	if (call(&fc[0], ST_MANIFEST_DELETE, &r, &res, NULL) == 0)
		want_status(&res, 202, NULL);
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, NULL) == 0)
		want_status(&res, 404, "MANIFEST_UNKNOWN");
	if (call(&fc[0], ST_MANIFEST_DELETE, &r, &res, NULL) == 0)
		want_status(&res, 404, "MANIFEST_UNKNOWN");
	mkreq(&r, REPO, "v1");
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (fd != -1)
			close(fd);
	}
	result("delete a tag: 202, only that tag gone, then 404");

	mkreq(&r, REPO, mdigest);
	if (call(&fc[0], ST_MANIFEST_DELETE, &r, &res, NULL) == 0)
		want_status(&res, 202, NULL);
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, NULL) == 0)
		want_status(&res, 404, "MANIFEST_UNKNOWN");
	mkreq(&r, REPO, "v1");
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, NULL) == 0)
		want_status(&res, 404, "MANIFEST_UNKNOWN");
	mkreq(&r, REPO, "");
	if (call(&fc[0], ST_TAGS_LIST, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		want_body(&res, fd, "{\"name\":\"test/app\",\"tags\":"
		    "[\"dangling\",\"multi\"]}");
	}
	mkreq(&r, REPO, mdigest);
	if (call(&fc[0], ST_MANIFEST_DELETE, &r, &res, NULL) == 0)
		want_status(&res, 404, "MANIFEST_UNKNOWN");
	mkreq(&r, REPO2, "latest");
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (fd != -1)
			close(fd);
	}
	result("delete by digest: revision and its tags gone, others stay");

	mkreq(&r, REPO, blobdigest);
	if (call(&fc[0], ST_BLOB_DELETE, &r, &res, NULL) == 0)
		want_status(&res, 202, NULL);
	if (call(&fc[0], ST_BLOB_GET, &r, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UNKNOWN");
	if (call(&fc[0], ST_BLOB_DELETE, &r, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UNKNOWN");
	if (!exists("%s/blobs/sha256/%.2s/%s/data", V2, blobdigest + 7,
	    blobdigest + 7))
		fail("blob data removed");
	mkreq(&r, REPO2, blobdigest);
	if (call(&fc[0], ST_BLOB_GET, &r, &res, &fd) == 0) {
		want_status(&res, 200, NULL);
		if (fd != -1)
			close(fd);
	}
	result("blob delete: link gone (404 after), data kept for GC");
}

/* A housekeeping request: text chunks ended by ST_CTL_END's status. */
static char	*ctl_run_id(uint32_t, int *);

static char *
ctl_run(uint32_t type, const void *data, size_t dlen, int *status)
{
	uint32_t	 id = nextid++;

	*status = -1;
	if (chan_compose(&pc, type, id, -1, data, dlen) == -1 ||
	    chan_flush(&pc) == -1) {
		fail("send ctl: %s", strerror(errno));
		return (NULL);
	}
	return (ctl_run_id(id, status));
}

/* The answer to control request id. */
static char *
ctl_run_id(uint32_t id, int *status)
{
	struct msg	 m;
	char		*text = NULL, *nt;
	size_t		 len = 0;
	int32_t		 v;

	*status = -1;
	for (;;) {
		if (chan_recv_one(&pc, &m, TIMEOUT) != 1) {
			fail("no control answer");
			free(text);
			return (NULL);
		}
		if (m.hdr.peerid != id || (m.hdr.type != ST_CTL_RES &&
		    m.hdr.type != ST_CTL_END)) {
			fail("unexpected message %u on parent channel",
			    m.hdr.type);
			free(text);
			return (NULL);
		}
		if (m.hdr.type == ST_CTL_END) {
			if (m.len != sizeof(v))
				fail("ST_CTL_END of %zu bytes", m.len);
			else {
				memcpy(&v, m.data, sizeof(v));
				*status = v;
			}
			break;
		}
		if ((nt = realloc(text, len + m.len + 1)) == NULL)
			err(1, "realloc");
		text = nt;
		memcpy(text + len, m.data, m.len);
		len += m.len;
	}
	if (text == NULL)
		text = strdup("");
	else
		text[len] = '\0';
	return (text);
}

static void
send_conf(struct store_conf *sc)
{
	if (chan_compose(&pc, ST_CONF, 0, -1, sc, sizeof(*sc)) == -1 ||
	    chan_flush(&pc) == -1)
		fail("send ST_CONF: %s", strerror(errno));
}

static void
age_blob(const char *digest)
{
	struct timeval	 tv[2];
	char		 path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s/blobs/sha256/%.2s/%s/data", root,
	    V2, digest + 7, digest + 7);
	memset(tv, 0, sizeof(tv));
	tv[0].tv_sec = tv[1].tv_sec = time(NULL) - 7200;
	if (utimes(path, tv) == -1)
		fail("utimes %s: %s", path, strerror(errno));
}

static void
t_housekeeping(void)
{
	struct store_conf	*sc;
	struct treq		 r;
	struct st_ctl_repo	 cr;
	struct st_res		 res;
	unsigned char		 buf[600];
	char			 loose[MAX_DIGEST + 1], big[MAX_DIGEST + 1];
	char			 want[256], *text;
	uint32_t		 id;
	int32_t			 flags;
	int			 status;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		err(1, "calloc");
	sc->gc_grace = 3600;
	send_conf(sc);
	fill(buf, sizeof(buf), 77);
	push_blob(REPO, buf, sizeof(buf), loose, sizeof(loose));
	age_blob(loose);
	flags = GCF_DRYRUN;
	text = ctl_run(ST_CTL_GC, &flags, sizeof(flags), &status);
	if (status != 0 || text == NULL || strstr(text, loose) != NULL)
		fail("a blob pushed a moment ago is listed, old mtime or "
		    "not: %s", text);
	free(text);
	result("gc: a blob a request used within the grace period stays");

	sc->gc_grace = 0;
	send_conf(sc);
	text = ctl_run(ST_CTL_GC, &flags, sizeof(flags), &status);
	snprintf(want, sizeof(want), "blob %s 600\n", loose);
	if (status != 0 || text == NULL || strstr(text, want) == NULL)
		fail("dry run without grace does not list %s: %s", loose,
		    text);
	if (!exists("%s/blobs/sha256/%.2s/%s/data", V2, loose + 7, loose + 7))
		fail("the dry run removed the blob");
	free(text);

	/* An upload in progress while gc runs is not disturbed. */
	fill(buf, sizeof(buf), 78);
	sha("sha256", buf, sizeof(buf), big, sizeof(big));
	mkreq(&r, REPO, big);
	r.flags = STF_FINAL | STF_NEWSESSION;
	id = send_req(&fc[1], ST_UPLOAD_WRITE, &r);
	send_data(&fc[1], id, buf, 300);
	flags = 0;
	text = ctl_run(ST_CTL_GC, &flags, sizeof(flags), &status);
	if (status != 0 || text == NULL || strstr(text, want) == NULL)
		fail("gc did not remove %s: %s", loose, text);
	free(text);
	send_data(&fc[1], id, buf + 300, sizeof(buf) - 300);
	send_empty(&fc[1], ST_DATA_END, id);
	if (recv_res(&fc[1], id, &res, NULL) == 0)
		want_status(&res, 201, NULL);
	if (exists("%s/blobs/sha256/%.2s/%s", V2, loose + 7, loose + 7))
		fail("swept blob still on disk");
	mkreq(&r, REPO, loose);
	if (call(&fc[0], ST_BLOB_GET, &r, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UNKNOWN");
	result("gc: sweeps an old loose blob and its link, uploads go on");

	/* Quotas come with ST_CONF. */
	strlcpy(sc->quotas[0].pattern, "quota/*",
	    sizeof(sc->quotas[0].pattern));
	sc->quotas[0].size = 1000;
	sc->nquotas = 1;
	send_conf(sc);
	fill(buf, sizeof(buf), 79);
	push_blob("quota/r", buf, sizeof(buf), loose, sizeof(loose));
	fill(buf, sizeof(buf), 80);
	sha("sha256", buf, sizeof(buf), big, sizeof(big));
	mkreq(&r, "quota/r", big);
	r.flags = STF_FINAL | STF_NEWSESSION;
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, buf, sizeof(buf),
	    &res) == 0)
		want_status(&res, 403, "DENIED");
	if (exists("%s/blobs/sha256/%.2s/%s", V2, big + 7, big + 7))
		fail("refused blob stored");
	if (count_uploads("quota/r") != 0)
		fail("refused upload left behind");
	mkreq(&r, "quota/other", big);
	r.flags = STF_FINAL | STF_NEWSESSION;
	if (call_body(&fc[0], ST_UPLOAD_WRITE, &r, buf, sizeof(buf),
	    &res) == 0)
		want_status(&res, 201, NULL);
	result("quota: over it DENIED, nothing stored; per repository");

	memset(&cr, 0, sizeof(cr));
	CP(cr.repo, "quota/r");
	text = ctl_run(ST_CTL_USAGE, &cr, sizeof(cr), &status);
	snprintf(want, sizeof(want), "\nquota/r ");
	if (status != 0 || text == NULL || strstr(text, want) == NULL ||
	    strstr(text, " 600             600\n") == NULL)
		fail("usage of quota/r: %s", text);
	free(text);
	text = ctl_run(ST_CTL_RM, &cr, sizeof(cr), &status);
	if (status != 0)
		fail("rm quota/r: %s", text);
	free(text);
	text = ctl_run(ST_CTL_RM, &cr, sizeof(cr), &status);
	if (status != 1)
		fail("second rm of quota/r: status %d, %s", status, text);
	free(text);
	if (exists("%s/repositories/quota/r", V2))
		fail("quota/r still on disk");
	result("control: usage, rm and rm of a missing repository");

	flags = 0;
	text = ctl_run(ST_CTL_FSCK, &flags, sizeof(flags), &status);
	if (status != 0 || text == NULL || strstr(text, " 0 problems") ==
	    NULL)
		fail("fsck of a sound tree: %d %s", status, text);
	free(text);
	result("control: fsck of a sound tree");
	memset(sc, 0, sizeof(*sc));
	send_conf(sc);
	free(sc);
}

#define NSEEDED		10000

/* Seeded blobs, young, named in order; the data is not their hash. */
static void
seed_blob(int i, int make)
{
	char	 path[PATH_MAX * 2 + 16], dir[PATH_MAX * 2];
	int	 fd;

	snprintf(dir, sizeof(dir), "%s/%s/blobs/sha256/%02x", root, V2,
	    i % 256);
	if (make)
		mkdir(dir, 0755);
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir),
	    "/%02x%062x", i % 256, i);
	snprintf(path, sizeof(path), "%s/data", dir);
	if (!make) {
		unlink(path);
		rmdir(dir);
		return;
	}
	if (mkdir(dir, 0755) == -1 ||
	    (fd = open(path, O_WRONLY | O_CREAT, 0644)) == -1)
		err(1, "seed %s", path);
	if (write(fd, "x", 1) != 1)
		err(1, "write %s", path);
	close(fd);
}

/*
 * GC runs in steps between requests: a tags list sent after a "gc -n"
 * over 10,000 blobs is answered while the run goes on, before its
 * ST_CTL_END.
 */
static void
t_gc_steps(void)
{
	struct store_conf	*sc;
	struct treq		 r;
	struct st_res		 res;
	struct pollfd		 pfd;
	struct timespec		 ts = { 0, 1000000 };
	char			*text;
	uint32_t		 id, tid;
	int32_t			 flags = GCF_DRYRUN;
	int			 i, fd, status;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		err(1, "calloc");
	sc->gc_grace = 3600;
	send_conf(sc);
	for (i = 0; i < NSEEDED; i++)
		seed_blob(i, 1);
	id = nextid++;
	if (chan_compose(&pc, ST_CTL_GC, id, -1, &flags, sizeof(flags)) ==
	    -1 || chan_flush(&pc) == -1)
		fail("send ctl: %s", strerror(errno));
	nanosleep(&ts, NULL);
	mkreq(&r, REPO, "");
	tid = send_req(&fc[0], ST_TAGS_LIST, &r);
	fd = -1;
	if (recv_res(&fc[0], tid, &res, &fd) == 0)
		want_status(&res, 200, NULL);
	if (fd != -1)
		close(fd);
	pfd.fd = pc.fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 0)
		fail("the tags list was answered after the gc's end");
	text = ctl_run_id(id, &status);
	if (status != 0 || text == NULL || strstr(text, "dry run: ") == NULL)
		fail("gc -n over seeded blobs: %d %s", status, text);
	free(text);
	for (i = 0; i < NSEEDED; i++)
		seed_blob(i, 0);
	memset(sc, 0, sizeof(*sc));
	send_conf(sc);
	free(sc);
	result("gc: a tags list is answered between the steps of a run");
}

/* Every string field of every request from a frontend. */
#define FIELD(t, s, f)	{ (t), offsetof(struct s, f),			\
	sizeof(((struct s *)NULL)->f), #t " " #f }
static const struct {
	uint32_t	 type;
	size_t		 off, len;
	const char	*name;
} strfields[] = {
	FIELD(ST_BLOB_GET, st_blob_get, repo),
	FIELD(ST_BLOB_GET, st_blob_get, digest),
	FIELD(ST_BLOB_GET, st_blob_get, mirror.upstream),
	FIELD(ST_BLOB_GET, st_blob_get, mirror.upstream_name),
	FIELD(ST_BLOB_DELETE, st_blob_delete, repo),
	FIELD(ST_BLOB_DELETE, st_blob_delete, digest),
	FIELD(ST_MANIFEST_GET, st_manifest_get, repo),
	FIELD(ST_MANIFEST_GET, st_manifest_get, ref),
	FIELD(ST_MANIFEST_GET, st_manifest_get, mirror.upstream),
	FIELD(ST_MANIFEST_GET, st_manifest_get, mirror.upstream_name),
	FIELD(ST_MANIFEST_PUT, st_manifest_put, repo),
	FIELD(ST_MANIFEST_PUT, st_manifest_put, ref),
	FIELD(ST_MANIFEST_PUT, st_manifest_put, mediatype),
	FIELD(ST_MANIFEST_DELETE, st_manifest_delete, repo),
	FIELD(ST_MANIFEST_DELETE, st_manifest_delete, ref),
	FIELD(ST_UPLOAD_START, st_upload_start, repo),
	FIELD(ST_UPLOAD_START, st_upload_start, mount_digest),
	FIELD(ST_UPLOAD_START, st_upload_start, from_repo),
	FIELD(ST_UPLOAD_START, st_upload_start, client),
	FIELD(ST_UPLOAD_WRITE, st_upload_write, repo),
	FIELD(ST_UPLOAD_WRITE, st_upload_write, uuid),
	FIELD(ST_UPLOAD_WRITE, st_upload_write, digest),
	FIELD(ST_UPLOAD_WRITE, st_upload_write, client),
	FIELD(ST_UPLOAD_STATUS, st_upload, repo),
	FIELD(ST_UPLOAD_STATUS, st_upload, uuid),
	FIELD(ST_UPLOAD_CANCEL, st_upload, repo),
	FIELD(ST_UPLOAD_CANCEL, st_upload, uuid),
	FIELD(ST_TAGS_LIST, st_list, repo),
	FIELD(ST_TAGS_LIST, st_list, last),
	FIELD(ST_CATALOG, st_list, repo),
	FIELD(ST_CATALOG, st_list, last),
	FIELD(ST_REFERRERS, st_referrers, repo),
	FIELD(ST_REFERRERS, st_referrers, digest),
	FIELD(ST_REFERRERS, st_referrers, artifact_type),
};

/*
 * A request of the right size whose one string does not end inside its
 * array closes the frontend, unanswered: for each string of each type.
 */
static void
t_unterminated(void)
{
	struct treq	 r;
	union payload	 p;
	size_t		 i, len;

	mkreq(&r, REPO2, "latest");
	for (i = 0; i < sizeof(strfields) / sizeof(strfields[0]); i++) {
		new_frontend(0);
		len = encode(strfields[i].type, &r, &p);
		if (strfields[i].off + strfields[i].len > len) {
			fail("%s: outside the payload", strfields[i].name);
			break;
		}
		memset((char *)&p + strfields[i].off, 'a', strfields[i].len);
		chan_compose(&fc[0], strfields[i].type, nextid++, -1, &p, len);
		chan_flush(&fc[0]);
		if (!wait_closed(&fc[0])) {
			fail("%s unterminated: frontend not closed",
			    strfields[i].name);
			break;
		}
	}
	new_frontend(0);
	result("unterminated string in each field of each request: "
	    "frontend closed");
}

static void
t_hostile(void)
{
	struct treq		 r;
	struct st_ctl_repo	 cr;
	struct st_res		 res;
	char			 junk[64], *text;
	uint32_t		 id;

	/* A bad name in a body request: answered at once, body swallowed. */
	mkreq(&r, "../../etc", "v1");
	id = send_req(&fc[0], ST_MANIFEST_PUT, &r);
	if (recv_res(&fc[0], id, &res, NULL) == 0)
		want_status(&res, 400, "NAME_INVALID");
	send_data(&fc[0], id, "{}", 2);
	send_empty(&fc[0], ST_DATA_END, id);
	mkreq(&r, REPO, "");
	if (call(&fc[0], ST_UPLOAD_STATUS, &r, &res, NULL) == 0)
		want_status(&res, 404, "BLOB_UPLOAD_UNKNOWN");
	result("invalid name on a body request: one answer only");

	/* A request of the wrong size closes that frontend only. */
	memset(junk, 'A', sizeof(junk));
	chan_compose(&fc[0], ST_BLOB_GET, nextid++, -1, junk, sizeof(junk));
	chan_flush(&fc[0]);
	if (!wait_closed(&fc[0]))
		fail("frontend channel not closed");
	mkreq(&r, REPO2, "latest");
	if (call(&fc[1], ST_MANIFEST_GET, &r, &res, NULL) == 0)
		want_status(&res, 200, NULL);
	result("request of the wrong size: that frontend closed, others go on");

	t_unterminated();

	/* A message type a frontend may not send, then raw garbage. */
	new_frontend(0);
	chan_compose(&fc[0], MSG_PEER_ADD, 0, -1, NULL, 0);
	chan_flush(&fc[0]);
	if (!wait_closed(&fc[0]))
		fail("frontend channel not closed");
	/* The parent's own request, well formed, from a frontend. */
	new_frontend(0);
	memset(&cr, 0, sizeof(cr));
	CP(cr.repo, REPO2);
	chan_compose(&fc[0], ST_CTL_RM, nextid++, -1, &cr, sizeof(cr));
	chan_flush(&fc[0]);
	if (!wait_closed(&fc[0]))
		fail("frontend channel not closed after ST_CTL_RM");
	if ((text = ctl_text(ST_CTL_TAGS, cr.repo)) == NULL ||
	    strstr(text, "latest") == NULL)
		fail("the repository went after a frontend's ST_CTL_RM");
	free(text);
	new_frontend(0);
	memset(junk, 0xff, sizeof(junk));
	if (write(fc[0].fd, junk, sizeof(junk)) != sizeof(junk))
		fail("write: %s", strerror(errno));
	if (!wait_closed(&fc[0]))
		fail("frontend channel not closed");
	result("foreign message type and garbage bytes: frontend closed");

	/* The parent is still served, and so is a fresh frontend. */
	free(ctl_text(ST_CTL_REPOS, NULL));
	new_frontend(0);
	mkreq(&r, REPO2, "latest");
	if (call(&fc[0], ST_MANIFEST_GET, &r, &res, NULL) == 0)
		want_status(&res, 200, NULL);
	result("after the garbage: parent and new frontend served");
}

static void
t_exit(void)
{
	int	 status;

	chan_clear(&pc);
	if (waitpid(storage_pid, &status, 0) == -1)
		fail("waitpid: %s", strerror(errno));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("storage ended with status %#x", status);
	storage_pid = -1;
	result("parent channel closed: storage exits 0");
}

static void
cleanup(void)
{
	char	 cmd[PATH_MAX + 16];

	if (getpid() != test_pid)
		return;		/* the storage child exiting */
	if (storage_pid > 0) {
		kill(storage_pid, SIGKILL);
		waitpid(storage_pid, NULL, 0);
	}
	if (root[0] != '\0' && getenv("KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", root);
	}
}

int
main(int argc, char *argv[], char *envp[])
{
	struct timespec	 t0, t1;
	struct rlimit	 rl, rl0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	setproctitle_init(argc, argv, envp);
	test_pid = getpid();
	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_TO_STDERR, 0, "test_storage");
	strlcpy(root, "/tmp/regd-storage.XXXXXX", sizeof(root));
	if (mkdtemp(root) == NULL)
		err(1, "mkdtemp");
	atexit(cleanup);

	memset(&testconf, 0, sizeof(testconf));
	strlcpy(testconf.user, "nobody", sizeof(testconf.user));
	strlcpy(testconf.storage, root, sizeof(testconf.storage));
	testconf.prefork = NFRONT;
	TAILQ_INIT(&testconf.servers);
	testenv.conf = &testconf;
	testenv.unpriv = 1;
	testenv.debug = 1;
	/*
	 * Upload bytes go through store_io.c's threads here, whatever the
	 * CPUs: regd on fewer than IO_MINCPUS does that work inline, and
	 * the regress scripts cover that path.
	 */
	testenv.iothreads = 3;
	env = &testenv;

	/* Makes write(2) in storage fail with EFBIG; see t_write_error. */
	signal(SIGXFSZ, SIG_IGN);
	rl.rlim_cur = 1024 * 1024;
	rl.rlim_max = RLIM_INFINITY;
	if (getrlimit(RLIMIT_FSIZE, &rl0) == -1)
		err(1, "getrlimit");
	rl.rlim_max = rl0.rlim_max;
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		err(1, "setrlimit");
	start_storage();
	setrlimit(RLIMIT_FSIZE, &rl0);
	t_chunked_upload();
	t_blob_get();
	t_small_blobs();
	t_resume();
	t_concurrent();
	t_cancel_during_write();
	t_write_error();
	t_manifests();
	t_index_referrers();
	t_tags_catalog();
	t_ctl();
	t_deletes();
	t_housekeeping();
	t_gc_steps();
	t_hostile();
	t_exit();

	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%d passed, %d failed (%.2fs)\n", npass, nfail,
	    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (loggerfd != -1)
		close(loggerfd);
	return (nfail > 0 ? 1 : 0);
}
