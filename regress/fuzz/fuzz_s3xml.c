/*
 * Fuzz target: the XML reader of the S3 client (regd/s3xml.c).  The first
 * byte picks the reader (list, error, upload id, parts, uploads, copy
 * ETag, complete, delete result); the rest is the answer's body.
 * Checked: whatever a reader hands on is NUL-terminated within its field
 * and within the limits, and a list never hands on an empty key or a
 * negative size.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "fuzz.h"

static void
check_str(const char *s, size_t sz)
{
	if (memchr(s, '\0', sz) == NULL)
		abort();
}

static int
obj_cb(void *arg, const struct s3_obj *o)
{
	check_str(o->key, sizeof(o->key));
	check_str(o->etag, sizeof(o->etag));
	if (o->key[0] == '\0' || o->size < 0)
		abort();
	return (arg != NULL ? -1 : 0);
}

static int
part_cb(void *arg, const struct s3_part *p)
{
	check_str(p->etag, sizeof(p->etag));
	if (p->number < 1 || p->number > S3_PARTS_MAX || p->size < 0)
		abort();
	return (0);
}

static int
upload_cb(void *arg, const struct s3_upload *u)
{
	check_str(u->key, sizeof(u->key));
	check_str(u->upload_id, sizeof(u->upload_id));
	if (u->key[0] == '\0' || u->upload_id[0] == '\0')
		abort();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_list	 l;
	struct s3_err	 e;
	char		 a[S3_KEY_MAX + 1], b[S3_UPLOAD_ID_MAX + 1];
	const char	*doc;
	size_t		 len, nf;
	int		 t, tr, next, rc;

	if (size < 1)
		return (0);
	doc = (const char *)data + 1;
	len = size - 1;
	memset(&l, 0, sizeof(l));
	memset(&e, 0, sizeof(e));
	switch (data[0] & 7) {
	case 0:
		rc = s3xml_list(doc, len, &l, obj_cb,
		    (data[0] & 8) ? &l : NULL);
		if (rc == 0) {
			check_str(l.token, sizeof(l.token));
			if (l.truncated && l.token[0] == '\0')
				abort();
		}
		break;
	case 1:
		if (s3xml_error(doc, len, &e) == 0 && e.code[0] == '\0')
			abort();
		check_str(e.code, sizeof(e.code));
		check_str(e.message, sizeof(e.message));
		break;
	case 2:
		if (s3xml_upload_id(doc, len, b, sizeof(b)) == 0)
			check_str(b, sizeof(b));
		break;
	case 3:
		if (s3xml_parts(doc, len, part_cb, NULL, &tr, &next) == 0 &&
		    tr && next == 0)
			abort();
		break;
	case 4:
		if (s3xml_uploads(doc, len, upload_cb, NULL, &tr, a,
		    sizeof(a), b, sizeof(b)) == 0) {
			check_str(a, sizeof(a));
			check_str(b, sizeof(b));
		}
		break;
	case 5:
		if (s3xml_copy_etag(doc, len, a, sizeof(a)) == 0)
			check_str(a, sizeof(a));
		break;
	case 6:
		(void)s3xml_complete(doc, len);
		break;
	default:
		t = s3xml_delete_result(doc, len, &e, &nf);
		if (t == 0 && nf > 0 && e.code[0] == '\0')
			abort();
		break;
	}
	return (0);
}
