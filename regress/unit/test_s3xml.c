/*
 * Unit test of regd/s3xml.c: S3's answers as RGW and AWS write them are
 * read with every field, and hostile or malformed documents are refused
 * (never half read: no callback runs for a document refused later).  One
 * line per case; exit status 1 if any case failed.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3.h"

#define L(s)	(s), (sizeof(s) - 1)
#define PROLOG	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define LBR	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/" \
		"2006-03-01/\">"

static int	nfail, npass;
static int	ncb;
static struct s3_obj	objs[8];

static void
ok(int cond, const char *name, const char *why)
{
	if (cond) {
		npass++;
		printf("ok %s\n", name);
	} else {
		nfail++;
		printf("FAIL %s: %s\n", name, why);
	}
}

static int
collect(void *arg, const struct s3_obj *o)
{
	if (ncb < 8)
		objs[ncb] = *o;
	ncb++;
	return (arg != NULL ? -1 : 0);
}

static int
count_part(void *arg, const struct s3_part *p)
{
	struct s3_part	*out = arg;

	if (ncb < 8)
		out[ncb] = *p;
	ncb++;
	return (0);
}

static int
count_upload(void *arg, const struct s3_upload *u)
{
	ncb++;
	return (strcmp(u->key, "a/b") == 0 ? 0 : -1);
}

static int
list(const char *doc, struct s3_list *l)
{
	memset(l, 0, sizeof(*l));
	ncb = 0;
	return (s3xml_list(doc, strlen(doc), l, collect, NULL));
}

static void
good(void)
{
	struct s3_list	 l;
	struct s3_err	 e;
	struct s3_part	 parts[8];
	char		 id[S3_UPLOAD_ID_MAX + 1], etag[S3_ETAG_MAX + 1];
	char		 k[S3_KEY_MAX + 1], u[S3_UPLOAD_ID_MAX + 1];
	size_t		 nf;
	int		 rc, tr, next;

	rc = list(PROLOG LBR "<Name>regress</Name><Prefix></Prefix>"
	    "<KeyCount>3</KeyCount><MaxKeys>2</MaxKeys>"
	    "<IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4v"
	    "bOwM=</NextContinuationToken>\n  <Contents>\n"
	    "    <Key>a &amp; b &lt;c&gt; &quot;&apos; &#233;&#xe9; &#x1F600;"
	    "</Key>\n    <LastModified>2009-10-12T17:50:30.000Z"
	    "</LastModified>\n    <ETag>&quot;fba9dede5f27731c9771645a3986"
	    "3328&quot;</ETag><Size>434234</Size>"
	    "<StorageClass>STANDARD</StorageClass><Owner><ID>x</ID>"
	    "<DisplayName>y</DisplayName></Owner></Contents>"
	    "<Contents><Key>\xc3\xbc x</Key><Size>0</Size>"
	    "<LastModified>2026-01-01T00:00:00Z</LastModified>"
	    "<ETag>\"d41d8cd98f00b204e9800998ecf8427e-2\"</ETag></Contents>"
	    "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>"
	    "</ListBucketResult>\n", &l);
	ok(rc == 0 && ncb == 3, "list", "rc or count");
	ok(strcmp(objs[0].key, "a & b <c> \"' \xc3\xa9\xc3\xa9 "
	    "\xf0\x9f\x98\x80") == 0, "list entities", objs[0].key);
	ok(objs[0].size == 434234 && objs[0].mtime == 1255369830 &&
	    strcmp(objs[0].etag, "fba9dede5f27731c9771645a39863328") == 0 &&
	    !objs[0].is_prefix, "list fields", objs[0].etag);
	ok(strcmp(objs[1].key, "\xc3\xbc x") == 0 && objs[1].size == 0 &&
	    strcmp(objs[1].etag, "d41d8cd98f00b204e9800998ecf8427e-2") == 0,
	    "list second", objs[1].key);
	ok(objs[2].is_prefix && strcmp(objs[2].key, "p/") == 0,
	    "list prefix", objs[2].key);
	ok(l.truncated && strcmp(l.token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/"
	    "wm36Hy4vbOwM=") == 0, "list token", l.token);

	rc = list(LBR "<IsTruncated>false</IsTruncated><Prefix/>"
	    "</ListBucketResult>", &l);
	ok(rc == 0 && ncb == 0 && !l.truncated && l.token[0] == '\0',
	    "list empty", "");
	memset(&l, 0, sizeof(l));
	ncb = 0;
	rc = s3xml_list(L(LBR "<Contents><Key>a</Key><Size>1</Size></Contents>"
	    "<Contents><Key>b</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>"), &l, collect, (void *)1);
	ok(rc == -3 && ncb == 1, "list stopped by the callback", "");

	memset(&e, 0, sizeof(e));
	rc = s3xml_error(L(PROLOG "<Error><Code>NoSuchKey</Code><Message>The "
	    "specified key does not exist.</Message><Key>a</Key>"
	    "<RequestId>tx1</RequestId></Error>"), &e);
	ok(rc == 0 && strcmp(e.code, "NoSuchKey") == 0 &&
	    strcmp(e.message, "The specified key does not exist.") == 0,
	    "error", e.code);
	rc = s3xml_upload_id(L("<InitiateMultipartUploadResult><Bucket>b"
	    "</Bucket><Key>k</Key><UploadId>2~CpDoXk0EyyTC6Kuvm6hiyt0YXe_C2L5"
	    "</UploadId></InitiateMultipartUploadResult>"), id,
	    sizeof(id));
	ok(rc == 0 && strcmp(id, "2~CpDoXk0EyyTC6Kuvm6hiyt0YXe_C2L5") == 0,
	    "upload id", id);
	rc = s3xml_copy_etag(L("<CopyObjectResult><LastModified>"
	    "2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;9b2cf535f27731"
	    "c974343645a3985328&quot;</ETag></CopyObjectResult>"), etag,
	    sizeof(etag));
	ok(rc == 0 && strcmp(etag, "9b2cf535f27731c974343645a3985328") == 0,
	    "copy object etag", etag);
	rc = s3xml_copy_etag(L("<CopyPartResult><ETag>\"abc\"</ETag>"
	    "</CopyPartResult>"), etag, sizeof(etag));
	ok(rc == 0 && strcmp(etag, "abc") == 0, "copy part etag", etag);
	rc = s3xml_complete("<CompleteMultipartUploadResult><Location>l"
	    "</Location><Bucket>b</Bucket><Key>k</Key><ETag></ETag>"
	    "</CompleteMultipartUploadResult>", 128);
	ok(rc == 0, "complete with RGW's empty ETag", "");
	ncb = 0;
	memset(parts, 0, sizeof(parts));
	rc = s3xml_parts(L("<ListPartsResult><PartNumberMarker>0"
	    "</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker>"
	    "<IsTruncated>true</IsTruncated><Part><PartNumber>1</PartNumber>"
	    "<ETag>\"e1\"</ETag><Size>5242880</Size></Part><Part><PartNumber>2"
	    "</PartNumber><ETag>&quot;e2&quot;</ETag><Size>7</Size></Part>"
	    "</ListPartsResult>"), count_part, parts, &tr, &next);
	ok(rc == 0 && ncb == 2 && tr == 1 && next == 2 &&
	    parts[0].number == 1 && parts[0].size == 5242880 &&
	    strcmp(parts[1].etag, "e2") == 0, "list parts", "");
	ncb = 0;
	rc = s3xml_uploads(L("<ListMultipartUploadsResult><IsTruncated>true"
	    "</IsTruncated><NextKeyMarker>a/b</NextKeyMarker>"
	    "<NextUploadIdMarker>2~x</NextUploadIdMarker><Upload><Key>a/b</Key>"
	    "<UploadId>2~x</UploadId><Initiated>2026-01-01T00:00:00.000Z"
	    "</Initiated></Upload></ListMultipartUploadsResult>"),
	    count_upload, NULL, &tr, k, sizeof(k), u, sizeof(u));
	ok(rc == 0 && ncb == 1 && tr == 1 && strcmp(k, "a/b") == 0 &&
	    strcmp(u, "2~x") == 0, "list uploads", k);
	memset(&e, 0, sizeof(e));
	rc = s3xml_delete_result(L("<DeleteResult><Deleted><Key>x</Key>"
	    "</Deleted><Error><Key>a</Key><Code>AccessDenied</Code><Message>no"
	    "</Message></Error><Error><Key>b</Key><Code>InternalError</Code>"
	    "</Error></DeleteResult>"), &e, &nf);
	ok(rc == 0 && nf == 2 && strcmp(e.code, "AccessDenied") == 0 &&
	    strcmp(e.message, "a: no") == 0, "delete result", e.message);
	rc = s3xml_delete_result(L("<DeleteResult/>"), &e, &nf);
	ok(rc == 0 && nf == 0, "delete result, quiet and clean", "");
}

/* Documents every reader must refuse (-1), or -2 for another root. */
static const struct {
	const char	*name;
	const char	*doc;
	int		 want;
} hostile[] = {
	{ "empty", "", -1 },
	{ "prolog only", PROLOG, -1 },
	{ "blank only", " \n", -1 },
	{ "unclosed root", LBR, -1 },
	{ "mismatched end", LBR "</ListBucketResul>", -1 },
	{ "stray end", LBR "</ListBucketResult></ListBucketResult>", -1 },
	{ "two roots", LBR "</ListBucketResult><ListBucketResult/>", -1 },
	{ "text after root", LBR "</ListBucketResult>x", -1 },
	{ "text before root", "x" LBR "</ListBucketResult>", -1 },
	{ "comment", LBR "<!-- c --></ListBucketResult>", -1 },
	{ "cdata", LBR "<Prefix><![CDATA[x]]></Prefix></ListBucketResult>",
	    -1 },
	{ "doctype", "<!DOCTYPE lolz [<!ENTITY lol \"lol\">]>"
	    "<ListBucketResult>&lol;</ListBucketResult>", -1 },
	{ "pi inside", LBR "<?x y?></ListBucketResult>", -1 },
	{ "prolog unterminated", "<?xml version=\"1.0\"", -1 },
	{ "unknown entity", LBR "<Prefix>&foo;</Prefix></ListBucketResult>",
	    -1 },
	{ "entity unterminated", LBR "<Prefix>&amp</Prefix>"
	    "</ListBucketResult>", -1 },
	{ "bare ampersand", LBR "<Prefix>a & b</Prefix></ListBucketResult>",
	    -1 },
	{ "nul reference", LBR "<Prefix>&#0;</Prefix></ListBucketResult>",
	    -1 },
	{ "surrogate reference", LBR "<Prefix>&#xD800;</Prefix>"
	    "</ListBucketResult>", -1 },
	{ "reference too big", LBR "<Prefix>&#x110000;</Prefix>"
	    "</ListBucketResult>", -1 },
	{ "reference overflow", LBR "<Prefix>&#99999999999;</Prefix>"
	    "</ListBucketResult>", -1 },
	{ "empty reference", LBR "<Prefix>&#x;</Prefix></ListBucketResult>",
	    -1 },
	{ "overlong utf-8", LBR "<Prefix>\xc0\x80</Prefix>"
	    "</ListBucketResult>", -1 },
	{ "lone continuation", LBR "<Prefix>\x80</Prefix>"
	    "</ListBucketResult>", -1 },
	{ "truncated utf-8", LBR "<Prefix>\xe2\x82</Prefix>"
	    "</ListBucketResult>", -1 },
	{ "utf-8 surrogate", LBR "<Prefix>\xed\xa0\x80</Prefix>"
	    "</ListBucketResult>", -1 },
	{ "control character", LBR "<Prefix>\x01</Prefix>"
	    "</ListBucketResult>", -1 },
	{ "mixed content", LBR "<Contents>x<Key>a</Key><Size>1</Size>"
	    "</Contents></ListBucketResult>", -1 },
	{ "text after child", LBR "<Contents><Key>a</Key>x<Size>1</Size>"
	    "</Contents></ListBucketResult>", -1 },
	{ "too deep", "<ListBucketResult><a><b><c><d><e><f><g><h>"
	    "</h></g></f></e></d></c></b></a></ListBucketResult>", -1 },
	{ "attribute unquoted", "<ListBucketResult a=b/>", -1 },
	{ "attribute without blank", "<ListBucketResult a=\"1\"b=\"2\"/>",
	    -1 },
	{ "attribute with <", "<ListBucketResult a=\"<\"/>", -1 },
	{ "too many attributes", "<ListBucketResult a=\"\" b=\"\" c=\"\" "
	    "d=\"\" e=\"\" f=\"\" g=\"\" h=\"\" i=\"\"/>", -1 },
	{ "bad name", "<1ListBucketResult/>", -1 },
	{ "slash without >", "<ListBucketResult/", -1 },
	{ "size negative", LBR "<Contents><Key>a</Key><Size>-1</Size>"
	    "</Contents></ListBucketResult>", -1 },
	{ "size word", LBR "<Contents><Key>a</Key><Size>1k</Size>"
	    "</Contents></ListBucketResult>", -1 },
	{ "size huge", LBR "<Contents><Key>a</Key><Size>"
	    "99999999999999999999</Size></Contents></ListBucketResult>", -1 },
	{ "no size", LBR "<Contents><Key>a</Key></Contents>"
	    "</ListBucketResult>", -1 },
	{ "no key", LBR "<Contents><Size>1</Size></Contents>"
	    "</ListBucketResult>", -1 },
	{ "empty key", LBR "<Contents><Key></Key><Size>1</Size></Contents>"
	    "</ListBucketResult>", -1 },
	{ "two keys", LBR "<Contents><Key>a</Key><Key>b</Key><Size>1</Size>"
	    "</Contents></ListBucketResult>", -1 },
	{ "truncated word", LBR "<IsTruncated>yes</IsTruncated>"
	    "</ListBucketResult>", -1 },
	{ "truncated without token", LBR "<IsTruncated>true</IsTruncated>"
	    "</ListBucketResult>", -1 },
	{ "bad date", LBR "<Contents><Key>a</Key><Size>1</Size>"
	    "<LastModified>2009-13-12T17:50:30.000Z</LastModified>"
	    "</Contents></ListBucketResult>", -1 },
	{ "etag with a quote inside", LBR "<Contents><Key>a</Key><Size>1"
	    "</Size><ETag>\"a\"b\"</ETag></Contents></ListBucketResult>", -1 },
	{ "an error is another root", "<Error><Code>SlowDown</Code></Error>",
	    -2 },
	/* The first entry is fine, the second is not: nothing is seen. */
	{ "bad second entry", LBR "<Contents><Key>a</Key><Size>1</Size>"
	    "</Contents><Contents><Key>b</Key><Size>x</Size></Contents>"
	    "</ListBucketResult>", -1 },
};

static void
bounds(void)
{
	struct s3_list	 l;
	char		*doc, *p;
	size_t		 sz = 3 * S3XML_MAX_TEXT + 256;
	int		 rc;

	if ((doc = malloc(sz)) == NULL)
		exit(1);
	/* A name of S3XML_MAX_NAME is read, one more is not. */
	p = doc + snprintf(doc, sz, "<");
	memset(p, 'a', S3XML_MAX_NAME);
	p[S3XML_MAX_NAME] = '\0';
	strlcat(doc, "/>", sz);
	rc = s3xml_list(doc, strlen(doc), &l, collect, NULL);
	ok(rc == -2, "name at the limit", "not read");
	p = doc + snprintf(doc, sz, "<");
	memset(p, 'a', S3XML_MAX_NAME + 1);
	p[S3XML_MAX_NAME + 1] = '\0';
	strlcat(doc, "/>", sz);
	rc = s3xml_list(doc, strlen(doc), &l, collect, NULL);
	ok(rc == -1, "name over the limit", "read");
	/* A key of S3_KEY_MAX bytes is read, one more is not. */
	p = doc + snprintf(doc, sz, LBR "<Contents><Key>");
	memset(p, 'k', S3_KEY_MAX);
	p[S3_KEY_MAX] = '\0';
	strlcat(doc, "</Key><Size>1</Size></Contents></ListBucketResult>", sz);
	ok(list(doc, &l) == 0 && ncb == 1 && strlen(objs[0].key) ==
	    S3_KEY_MAX, "key at the limit", "not read");
	p = doc + snprintf(doc, sz, LBR "<Contents><Key>");
	memset(p, 'k', S3_KEY_MAX + 1);
	p[S3_KEY_MAX + 1] = '\0';
	strlcat(doc, "</Key><Size>1</Size></Contents></ListBucketResult>", sz);
	ok(list(doc, &l) == -1 && ncb == 0, "key over the limit", "read");
	/* Text over S3XML_MAX_TEXT, even as entities, is refused. */
	p = doc + snprintf(doc, sz, LBR "<Prefix>");
	memset(p, 'x', S3XML_MAX_TEXT + 1);
	p[S3XML_MAX_TEXT + 1] = '\0';
	strlcat(doc, "</Prefix></ListBucketResult>", sz);
	ok(list(doc, &l) == -1, "text over the limit", "read");
	/* An embedded NUL is refused. */
	rc = s3xml_list(LBR "<Prefix>a\0b</Prefix></ListBucketResult>",
	    sizeof(LBR) + 29, &l, collect, NULL);
	ok(rc == -1, "nul byte", "read");
	free(doc);
}

int
main(void)
{
	struct s3_list	 l;
	size_t		 i;
	int		 rc;
	char		 why[64];

	good();
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		rc = list(hostile[i].doc, &l);
		(void)snprintf(why, sizeof(why), "got %d and %d callbacks, "
		    "want %d", rc, ncb, hostile[i].want);
		ok(rc == hostile[i].want && ncb == 0, hostile[i].name, why);
	}
	bounds();
	printf("%d passed, %d failed\n", npass, nfail);
	return (nfail > 0);
}
