/*
 * Storage: manifests as the registry checks them before it stores one.
 */

#include <sys/types.h>

#include <ctype.h>
#include <string.h>

#include <jansson.h>

#include "regd.h"
#include "store.h"

enum mkind {
	MK_NONE,
	MK_MANIFEST,
	MK_INDEX
};

const char *
guess_mediatype(json_t *root)
{
	if (json_object_get(root, "manifests") != NULL)
		return (MT_OCI_INDEX);
	return (MT_OCI_MANIFEST);
}

static int
is_type(const char *mt, enum mkind *kind)
{
	if (strcmp(mt, MT_OCI_MANIFEST) == 0 ||
	    strcmp(mt, MT_DOCKER_V2) == 0) {
		*kind = MK_MANIFEST;
		return (1);
	}
	if (strcmp(mt, MT_OCI_INDEX) == 0 ||
	    strcmp(mt, MT_DOCKER_LIST) == 0) {
		*kind = MK_INDEX;
		return (1);
	}
	return (0);
}

/* A descriptor's digest, or NULL when the descriptor is malformed. */
static const char *
desc_digest(json_t *desc)
{
	json_t		*v;
	const char	*d;

	if (!json_is_object(desc))
		return (NULL);
	if ((d = json_string_value(json_object_get(desc, "digest"))) == NULL ||
	    !store_digest_ok(d))
		return (NULL);
	v = json_object_get(desc, "size");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0))
		return (NULL);
	v = json_object_get(desc, "mediaType");
	if (v != NULL && !json_is_string(v))
		return (NULL);
	return (d);
}

/*
 * Is d linked in repo?  0 yes, -1 with res filled: 400 when it is not,
 * the store's error (a 503 when it is away) when that cannot be told.
 */
static int
ref_linked(const char *repo, enum be_link kind, const char *d,
    struct st_res *res)
{
	switch (store_link_state(repo, kind, d)) {
	case 1:
		return (0);
	case 0:
		store_err(res, 400, "MANIFEST_BLOB_UNKNOWN", "%s unknown: %s",
		    kind == BE_LAYER ? "blob" : "manifest", d);
		return (-1);
	default:
		store_err_errno(res, errno, d, "MANIFEST_BLOB_UNKNOWN",
		    "cannot tell whether it is there");
		return (-1);
	}
}

/* Check what a manifest references; 0 or -1 with res filled. */
static int
manifest_refs(const char *repo, json_t *root, enum mkind kind,
    struct st_res *res)
{
	json_t		*arr, *v, *urls;
	const char	*d;
	size_t		 i;

	if (kind == MK_INDEX) {
		arr = json_object_get(root, "manifests");
		if (!json_is_array(arr)) {
			store_err(res, 400, "MANIFEST_INVALID",
			    "manifests must be an array");
			return (-1);
		}
		json_array_foreach(arr, i, v) {
			if ((d = desc_digest(v)) == NULL) {
				store_err(res, 400, "MANIFEST_INVALID",
				    "manifests[%zu]: invalid descriptor", i);
				return (-1);
			}
			if (ref_linked(repo, BE_REVISION, d, res) == -1)
				return (-1);
		}
		return (0);
	}
	if ((d = desc_digest(json_object_get(root, "config"))) == NULL) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "config: missing or invalid descriptor");
		return (-1);
	}
	if (ref_linked(repo, BE_LAYER, d, res) == -1)
		return (-1);
	arr = json_object_get(root, "layers");
	if (!json_is_array(arr)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "layers must be an array");
		return (-1);
	}
	json_array_foreach(arr, i, v) {
		if ((d = desc_digest(v)) == NULL) {
			store_err(res, 400, "MANIFEST_INVALID",
			    "layers[%zu]: invalid descriptor", i);
			return (-1);
		}
		urls = json_object_get(v, "urls");
		if (json_is_array(urls) && json_array_size(urls) > 0)
			continue;
		if (ref_linked(repo, BE_LAYER, d, res) == -1)
			return (-1);
	}
	return (0);
}

static void
content_type(const char *in, char *out, size_t len)
{
	size_t	 i;

	strlcpy(out, in, len);
	out[strcspn(out, ";")] = '\0';
	for (i = strlen(out); i > 0 && isspace((unsigned char)out[i - 1]);
	    i--)
		out[i - 1] = '\0';
	for (i = 0; out[i] != '\0'; i++)
		out[i] = tolower((unsigned char)out[i]);
}

/*
 * Check a manifest for a PUT: JSON, schema 2, a media type we serve
 * that the Content-Type does not contradict, references the repository
 * holds, and its digest.  0 with m filled, -1 with res filled; either
 * way the caller json_decrefs m->root.
 */
int
manifest_check(const struct st_manifest_put *req, const unsigned char *buf,
    size_t len, struct mfst *m, struct st_res *res)
{
	json_error_t	 jerr;
	json_t		*v;
	enum mkind	 kind = MK_NONE;
	const char	*bodymt, *mt, *sd;
	char		 ct[MAX_MEDIATYPE + 1];
	int		 istag;

	istag = strchr(req->ref, ':') == NULL;
	if ((m->root = json_loadb((const char *)buf, len, 0, &jerr)) == NULL) {
		store_err(res, 400, "MANIFEST_INVALID", "invalid JSON: %s",
		    jerr.text);
		return (-1);
	}
	if (!json_is_object(m->root)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "manifest is not a JSON object");
		return (-1);
	}
	v = json_object_get(m->root, "schemaVersion");
	if (!json_is_integer(v) || json_integer_value(v) != 2) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "schemaVersion must be 2");
		return (-1);
	}
	v = json_object_get(m->root, "mediaType");
	if (v != NULL && !json_is_string(v)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "mediaType must be a string");
		return (-1);
	}
	bodymt = json_string_value(v);
	content_type(req->mediatype, ct, sizeof(ct));
	if (bodymt != NULL && ct[0] != '\0' && strcmp(bodymt, ct) != 0) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "mediaType %.60s does not match Content-Type %.60s",
		    bodymt, ct);
		return (-1);
	}
	if (bodymt != NULL)
		mt = bodymt;
	else if (ct[0] != '\0')
		mt = ct;
	else
		mt = guess_mediatype(m->root);
	if (!is_type(mt, &kind)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "unsupported media type %.100s", mt);
		return (-1);
	}
	strlcpy(m->mediatype, mt, sizeof(m->mediatype));
	/* A mirror stores a manifest before the blobs it names. */
	if (!(req->flags & STF_MIRROR) &&
	    manifest_refs(req->repo, m->root, kind, res) == -1)
		return (-1);
	if ((v = json_object_get(m->root, "subject")) != NULL) {
		if ((sd = desc_digest(v)) == NULL) {
			store_err(res, 400, "MANIFEST_INVALID",
			    "subject: invalid descriptor");
			return (-1);
		}
		strlcpy(m->subject, sd, sizeof(m->subject));
	}
	v = json_object_get(m->root, "artifactType");
	if (v != NULL && !json_is_string(v)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "artifactType must be a string");
		return (-1);
	}
	if (store_digest_buf(!istag && strncmp(req->ref, "sha512:", 7) == 0 ?
	    "sha512" : "sha256", buf, len, m->digest,
	    sizeof(m->digest)) == -1) {
		store_err(res, 500, "UNKNOWN", "cannot compute digest");
		return (-1);
	}
	if (!istag && strcmp(m->digest, req->ref) != 0) {
		store_err(res, 400, "DIGEST_INVALID",
		    "manifest digest does not match %s", req->ref);
		return (-1);
	}
	return (0);
}

static void
add_desc(json_t *desc, struct names *refs)
{
	const char	*d;

	if (!json_is_object(desc))
		return;
	d = json_string_value(json_object_get(desc, "digest"));
	if (d == NULL)
		d = json_string_value(json_object_get(desc, "blobSum"));
	if (d != NULL && store_digest_ok(d) && !names_has(refs, d))
		names_add(refs, d);
}

/*
 * What a stored manifest references, read leniently (GC must not sweep
 * what an old or odd manifest names): config, layers, index children,
 * schema 1 fsLayers and blobs, into refs once each; its subject into
 * subject.  0, or -1 when the bytes are no JSON object.
 */
int
manifest_refs_all(const unsigned char *buf, size_t len, struct names *refs,
    char *subject, size_t slen)
{
	json_error_t	 jerr;
	json_t		*root, *arr, *v;
	const char	*s;
	const char	*lists[] = { "layers", "manifests", "fsLayers",
			    "blobs" };
	size_t		 i, l;

	root = json_loadb((const char *)buf, len, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return (-1);
	}
	add_desc(json_object_get(root, "config"), refs);
	for (l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		arr = json_object_get(root, lists[l]);
		if (!json_is_array(arr))
			continue;
		json_array_foreach(arr, i, v)
			add_desc(v, refs);
	}
	v = json_object_get(root, "subject");
	if (subject != NULL && json_is_object(v) &&
	    (s = json_string_value(json_object_get(v, "digest"))) != NULL &&
	    store_digest_ok(s))
		strlcpy(subject, s, slen);
	json_decref(root);
	return (0);
}
