/*
 * Unit test of regd/sigv4.c against published vectors: the AWS Signature
 * Version 4 test suite (aws-sig-v4-test-suite: every case that applies to
 * S3, i.e. all but the path normalisation ones and the obsolete folded
 * header) and the worked examples of the S3 documentation (GET object with
 * Range, PUT object, GET ?lifecycle, list objects, presigned URL).  Then
 * the limits: refused input, bounded output.  One line per case; exit
 * status 1 if any case failed.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"

#define SUITE_TIME	1440938160	/* 20150830T123600Z */
#define S3DOC_TIME	1369353600	/* 20130524T000000Z */
#define SUITE_TOKEN \
	"AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQ" \
	"WLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMc" \
	"GdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp7" \
	"5YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZb" \
	"qBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/o" \
	"LxBA=="

struct vector {
	const char		*name;
	const char		*method;
	const char		*path;
	struct sigv4_pair	 query[4];
	size_t			 nquery;
	struct sigv4_pair	 headers[6];
	size_t			 nheaders;
	const char		*body;
	int			 token;
	const char		*creq;		/* NULL: not checked */
	const char		*authz;		/* NULL: not checked */
};

static int	nfail, npass;

static void	ok(int, const char *, const char *);
static void	check_str(const char *, const char *, const char *);
static void	suite(void);
static void	s3doc(void);
static void	s3doc_presign(void);
static void	limits(void);

/* aws-sig-v4-test-suite: AKIDEXAMPLE/20150830/us-east-1/service. */
static const struct vector vectors[] = {
	{ "get-vanilla", "GET", "/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "get-vanilla-query", "GET", "/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "get-vanilla-empty-query-key", "GET", "/",
	    { { "Param1", "value1" } }, 1,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "Param1=value1\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb" },
	{ "get-vanilla-query-order-key", "GET", "/",
	    { { "Param1", "value2" }, { "Param1", "Value1" } }, 2,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "Param1=Value1&Param1=value2\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1" },
	{ "get-vanilla-query-order-key-case", "GET", "/",
	    { { "Param2", "value2" }, { "Param1", "value1" } }, 2,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "Param1=value1&Param2=value2\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
	{ "get-vanilla-query-order-value", "GET", "/",
	    { { "Param1", "value2" }, { "Param1", "value1" } }, 2,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "Param1=value1&Param1=value2\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694" },
	{ "get-vanilla-query-unreserved", "GET", "/",
	    { { "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" } }, 1,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
	    "yz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	    "vwxyz\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197" },
	{ "get-vanilla-utf8-query", "GET", "/",
	    { { "\xe1\x88\xb4", "bar" } }, 1,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "%E1%88%B4=bar\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04" },
	{ "get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvw"
	    "xyz\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f" },
	{ "get-utf8", "GET", "/\xe1\x88\xb4",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/%E1%88%B4\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85" },
	{ "get-space", "GET", "/example space/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "GET\n"
	    "/example%20space/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741" },
	{ "get-header-key-duplicate", "GET", "/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" },
	    { "My-Header1", "value2" },
	    { "My-Header1", "value2" },
	    { "My-Header1", "value1" } }, 4,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "my-header1:value2,value2,value1\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;my-header1;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;my-header1;x-amz-date, "
	    "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea" },
	{ "get-header-value-order", "GET", "/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" },
	    { "My-Header1", "value4" },
	    { "My-Header1", "value1" },
	    { "My-Header1", "value3" },
	    { "My-Header1", "value2" } }, 5,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "my-header1:value4,value1,value3,value2\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;my-header1;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;my-header1;x-amz-date, "
	    "Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01" },
	{ "get-header-value-trim", "GET", "/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" },
	    { "My-Header1", " value1" },
	    { "My-Header2", " \"a   b   c\"" } }, 3,
	    NULL, 0,
	    "GET\n"
	    "/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "my-header1:value1\n"
	    "my-header2:\"a b c\"\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;my-header1;my-header2;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
	    "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
	{ "post-vanilla", "POST", "/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "POST\n"
	    "/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },
	{ "post-vanilla-query", "POST", "/",
	    { { "Param1", "value1" } }, 1,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "POST\n"
	    "/\n"
	    "Param1=value1\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },
	{ "post-vanilla-empty-query-value", "POST", "/",
	    { { "Param1", "value1" } }, 1,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "POST\n"
	    "/\n"
	    "Param1=value1\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },
	{ "post-header-key-case", "POST", "/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 0,
	    "POST\n"
	    "/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },
	{ "post-header-key-sort", "POST", "/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" },
	    { "My-Header1", "value1" } }, 2,
	    NULL, 0,
	    "POST\n"
	    "/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "my-header1:value1\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;my-header1;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;my-header1;x-amz-date, "
	    "Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c" },
	{ "post-header-value-case", "POST", "/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" },
	    { "My-Header1", "VALUE1" } }, 2,
	    NULL, 0,
	    "POST\n"
	    "/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "my-header1:VALUE1\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "host;my-header1;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;my-header1;x-amz-date, "
	    "Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d" },
	{ "post-x-www-form-urlencoded", "POST", "/",
	    { { NULL, NULL } }, 0,
	    { { "Content-Type", "application/x-www-form-urlencoded" },
	    { "Host", "example.amazonaws.com" } }, 2,
	    "Param1=value1", 0,
	    /* The suite's .creq lists content-length, its .authz does not. */
	    NULL,
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=content-type;host;x-amz-date, "
	    "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },
	{ "post-x-www-form-urlencoded-parameters", "POST", "/",
	    { { NULL, NULL } }, 0,
	    { { "Content-Type",
	    "application/x-www-form-urlencoded; charset=utf-8" },
	    { "Host", "example.amazonaws.com" },
	    { "Content-Length", "13" } }, 3,
	    "Param1=value1", 0,
	    "POST\n"
	    "/\n"
	    "\n"
	    "content-length:13\n"
	    "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "\n"
	    "content-length;content-type;host;x-amz-date\n"
	    "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
	    /*
	     * The suite's signature here (and its .sts) is that of an older
	     * request, "charset=utf8" without content-length: not checked.
	     */
	    NULL },
	{ "post-sts-header-before", "POST", "/",
	    { { NULL, NULL } }, 0,
	    { { "Host", "example.amazonaws.com" } }, 1,
	    NULL, 1,
	    "POST\n"
	    "/\n"
	    "\n"
	    "host:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n"
	    "x-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPB"
	    "SM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8"
	    "YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsbur"
	    "EDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo"
	    "0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9"
	    "KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n"
	    "\n"
	    "host;x-amz-date;x-amz-security-token\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date;x-amz-security-token, "
	    "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead" },
};

static void
ok(int cond, const char *name, const char *detail)
{
	if (cond) {
		printf("ok   %s\n", name);
		npass++;
	} else {
		printf("FAIL %s%s%s\n", name, detail != NULL ? ": " : "",
		    detail != NULL ? detail : "");
		nfail++;
	}
}

static void
check_str(const char *name, const char *got, const char *want)
{
	char	 msg[SIGV4_MAX_CANON * 2 + 64];

	if (strcmp(got, want) == 0) {
		ok(1, name, NULL);
		return;
	}
	(void)snprintf(msg, sizeof(msg), "\n--- got\n%s\n--- want\n%s", got,
	    want);
	ok(0, name, msg);
}

static void
suite(void)
{
	const struct vector	*v;
	struct sigv4_cred	 cred;
	struct sigv4_req	 req;
	struct sigv4_signed	 s;
	char			 creq[SIGV4_MAX_CANON], name[128];
	char			 payload[SIGV4_HEX_LEN + 1];
	size_t			 i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		v = &vectors[i];
		memset(&cred, 0, sizeof(cred));
		cred.access_key = "AKIDEXAMPLE";
		cred.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
		cred.region = "us-east-1";
		cred.service = "service";
		cred.token = v->token ? SUITE_TOKEN : NULL;
		memset(&req, 0, sizeof(req));
		req.method = v->method;
		req.path = v->path;
		req.query = v->query;
		req.nquery = v->nquery;
		req.headers = v->headers;
		req.nheaders = v->nheaders;
		req.when = SUITE_TIME;
		if (v->body != NULL) {
			sigv4_sha256_hex(v->body, strlen(v->body), payload);
			req.payload = payload;
		}
		if (v->creq != NULL) {
			(void)snprintf(name, sizeof(name), "%s creq", v->name);
			if (sigv4_canonical_request(&cred, &req, creq,
			    sizeof(creq)) == -1)
				ok(0, name, "refused");
			else
				check_str(name, creq, v->creq);
		}
		if (v->authz == NULL)
			continue;
		(void)snprintf(name, sizeof(name), "%s authz", v->name);
		if (sigv4_sign(&cred, &req, &s) == -1)
			ok(0, name, "refused");
		else
			check_str(name, s.authorization, v->authz);
	}
}

/*
 * The examples of the S3 documentation ("Signature Calculations for the
 * Authorization Header" and "Using Query Parameters"), bucket
 * examplebucket, virtual-hosted style.
 */
static void
s3doc(void)
{
	static const struct sigv4_pair	 get_h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "Range", "bytes=0-9" }
	};
	static const struct sigv4_pair	 put_h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "Date", "Fri, 24 May 2013 00:00:00 GMT" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" }
	};
	static const struct sigv4_pair	 host_h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" }
	};
	static const struct sigv4_pair	 lc_q[] = { { "lifecycle", NULL } };
	static const struct sigv4_pair	 list_q[] = {
		{ "prefix", "J" }, { "max-keys", "2" }
	};
	struct sigv4_cred	 cred;
	struct sigv4_req	 req;
	struct sigv4_signed	 s;
	char			 creq[SIGV4_MAX_CANON], h[SIGV4_HEX_LEN + 1];
	char			 payload[SIGV4_HEX_LEN + 1];
	const char		*body = "Welcome to Amazon S3.";

	memset(&cred, 0, sizeof(cred));
	cred.access_key = "AKIAIOSFODNN7EXAMPLE";
	cred.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	cred.region = "us-east-1";
	cred.service = "s3";

	/* GET object, Range, empty payload hash. */
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/test.txt";
	req.headers = get_h;
	req.nheaders = 2;
	req.when = S3DOC_TIME;
	ok(sigv4_canonical_request(&cred, &req, creq, sizeof(creq)) == 0,
	    "s3 get-object creq built", NULL);
	sigv4_sha256_hex(creq, strlen(creq), h);
	check_str("s3 get-object creq hash", h,
	    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	ok(sigv4_sign(&cred, &req, &s) == 0, "s3 get-object signed", NULL);
	check_str("s3 get-object signature", s.signature,
	    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	check_str("s3 get-object authorization", s.authorization,
	    "AWS4-HMAC-SHA256 "
	    "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
	    "Signature="
	    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	check_str("s3 get-object x-amz-date", s.amz_date, "20130524T000000Z");
	check_str("s3 get-object x-amz-content-sha256", s.content_sha256,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	/* PUT object: '$' in the key, a Date header, a storage class. */
	sigv4_sha256_hex(body, strlen(body), payload);
	check_str("s3 put-object payload hash", payload,
	    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	req.method = "PUT";
	req.path = "/test$file.text";
	req.headers = put_h;
	req.nheaders = 3;
	req.payload = payload;
	ok(sigv4_canonical_request(&cred, &req, creq, sizeof(creq)) == 0,
	    "s3 put-object creq built", NULL);
	sigv4_sha256_hex(creq, strlen(creq), h);
	check_str("s3 put-object creq hash", h,
	    "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
	ok(sigv4_sign(&cred, &req, &s) == 0, "s3 put-object signed", NULL);
	check_str("s3 put-object signature", s.signature,
	    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");

	/* GET bucket lifecycle: a parameter without a value. */
	req.method = "GET";
	req.path = "/";
	req.headers = host_h;
	req.nheaders = 1;
	req.payload = NULL;
	req.query = lc_q;
	req.nquery = 1;
	ok(sigv4_sign(&cred, &req, &s) == 0, "s3 get-lifecycle signed", NULL);
	check_str("s3 get-lifecycle signature", s.signature,
	    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");

	/* List objects: parameters given out of order. */
	req.query = list_q;
	req.nquery = 2;
	ok(sigv4_canonical_request(&cred, &req, creq, sizeof(creq)) == 0,
	    "s3 list-objects creq built", NULL);
	sigv4_sha256_hex(creq, strlen(creq), h);
	check_str("s3 list-objects creq hash", h,
	    "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
	ok(sigv4_sign(&cred, &req, &s) == 0, "s3 list-objects signed", NULL);
	check_str("s3 list-objects signature", s.signature,
	    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	s3doc_presign();
}

static void
s3doc_presign(void)
{
	static const struct sigv4_pair	 host_h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" }
	};
	struct sigv4_cred	 cred;
	struct sigv4_req	 req;
	char			 q[2048];

	memset(&cred, 0, sizeof(cred));
	cred.access_key = "AKIAIOSFODNN7EXAMPLE";
	cred.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	cred.region = "us-east-1";
	cred.service = "s3";
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/test.txt";
	req.headers = host_h;
	req.nheaders = 1;
	req.when = S3DOC_TIME;
	ok(sigv4_presign(&cred, &req, 86400, q, sizeof(q)) == 0,
	    "s3 presign built", NULL);
	check_str("s3 presign query", q,
	    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
	    "%2Fs3%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z"
	    "&X-Amz-Expires=86400"
	    "&X-Amz-SignedHeaders=host"
	    "&X-Amz-Signature="
	    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	ok(sigv4_presign(&cred, &req, 0, q, sizeof(q)) == -1,
	    "presign refuses expires 0", NULL);
	ok(sigv4_presign(&cred, &req, SIGV4_MAX_EXPIRES + 1, q,
	    sizeof(q)) == -1, "presign refuses more than a week", NULL);
	ok(sigv4_presign(&cred, &req, 86400, q, 100) == -1,
	    "presign refuses a short buffer", NULL);
}

/* What the vectors do not cover: encoding choices and refusals. */
static void
limits(void)
{
	struct sigv4_pair	 h[SIGV4_MAX_HEADERS + 1];
	struct sigv4_pair	 q[] = { { "prefix", "a/b c+d" } };
	struct sigv4_cred	 cred;
	struct sigv4_req	 req;
	struct sigv4_signed	 s;
	char			 out[SIGV4_MAX_CANON], small[8];
	size_t			 i;

	ok(sigv4_uri_encode("/b/docker/registry/v2/a b%2F~$", 1, out,
	    sizeof(out)) == 0, "encode path", NULL);
	check_str("path keeps '/', encodes '%' once", out,
	    "/b/docker/registry/v2/a%20b%252F~%24");
	ok(sigv4_uri_encode("a/b", 0, out, sizeof(out)) == 0 &&
	    strcmp(out, "a%2Fb") == 0, "query value encodes '/'", NULL);
	ok(sigv4_uri_encode("abcdefgh", 1, small, sizeof(small)) == -1,
	    "encode refuses a short buffer", NULL);
	ok(sigv4_uri_encode("abcdefg", 1, small, sizeof(small)) == 0,
	    "encode fills a buffer exactly", NULL);

	memset(&cred, 0, sizeof(cred));
	cred.access_key = "AK";
	cred.secret_key = "SK";
	cred.region = "default";
	cred.service = "s3";
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/bucket/a b/c";
	h[0].name = "Host";
	h[0].value = "127.0.0.1:7480";
	req.headers = h;
	req.nheaders = 1;
	req.query = q;
	req.nquery = 1;
	req.payload = SIGV4_UNSIGNED;
	req.when = S3DOC_TIME;
	ok(sigv4_canonical_request(&cred, &req, out, sizeof(out)) == 0,
	    "unsigned payload creq built", NULL);
	check_str("unsigned payload creq", out,
	    "GET\n/bucket/a%20b/c\nprefix=a%2Fb%20c%2Bd\n"
	    "host:127.0.0.1:7480\n"
	    "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
	    "x-amz-date:20130524T000000Z\n\n"
	    "host;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD");
	ok(sigv4_sign(&cred, &req, &s) == 0 &&
	    strcmp(s.content_sha256, SIGV4_UNSIGNED) == 0,
	    "unsigned payload header", NULL);

	h[1].name = "Range";
	h[1].value = "bytes=0-9\r\nX-Evil: 1";
	req.nheaders = 2;
	ok(sigv4_sign(&cred, &req, &s) == -1, "CR LF in a value refused",
	    NULL);
	h[1].name = "Ra nge";
	h[1].value = "bytes=0-9";
	ok(sigv4_sign(&cred, &req, &s) == -1, "blank in a name refused",
	    NULL);
	h[1].name = "";
	ok(sigv4_sign(&cred, &req, &s) == -1, "empty name refused", NULL);
	for (i = 1; i <= SIGV4_MAX_HEADERS; i++) {
		h[i].name = "x-amz-meta-n";
		h[i].value = "v";
	}
	req.nheaders = SIGV4_MAX_HEADERS + 1;
	ok(sigv4_sign(&cred, &req, &s) == -1, "too many headers refused",
	    NULL);
	req.nheaders = SIGV4_MAX_HEADERS;
	ok(sigv4_sign(&cred, &req, &s) == 0, "as many headers as allowed",
	    NULL);
	req.nheaders = 1;
	req.payload = "not-a-hash-but-far-too-long-to-fit-in-the-header-field"
	    "-of-sixty-four-characters";
	ok(sigv4_sign(&cred, &req, &s) == -1, "overlong payload refused",
	    NULL);
	req.payload = NULL;
	cred.region = "a/b";
	ok(sigv4_sign(&cred, &req, &s) == -1, "'/' in the region refused",
	    NULL);
	cred.region = "default";
	cred.secret_key = NULL;
	ok(sigv4_sign(&cred, &req, &s) == -1, "no secret refused", NULL);
}

int
main(void)
{
	suite();
	s3doc();
	limits();
	printf("%d passed, %d failed\n", npass, nfail);
	return (nfail == 0 ? 0 : 1);
}
