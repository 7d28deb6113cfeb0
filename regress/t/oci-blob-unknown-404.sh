#!/bin/bash
#
# GET and HEAD of a blob the repository does not have answer 404, GET with
# the BLOB_UNKNOWN error, also when another repository has that blob and
# when the repository does not exist at all.

. ./regress/lib.sh

regd_start

missing=sha256:$(printf 'no such blob' | sha256sum | cut -d' ' -f1)
make_blob 1000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/has "$T/blob"

http GET "$URL/v2/lib/has/blobs/$missing"
expect_error 404 BLOB_UNKNOWN
http HEAD "$URL/v2/lib/has/blobs/$missing"
check_eq "$STATUS" 404 "HEAD of an unknown blob"

# Blobs are scoped to the repositories that link them.
http GET "$URL/v2/lib/other/blobs/$d"
check_eq "$STATUS" 404 "GET of another repository's blob"
http GET "$URL/v2/lib/has/blobs/$d"
check_eq "$STATUS" 200 "GET of the blob where it was pushed"
make_blob 1000 "$T/blob2"
push_blob lib/other "$T/blob2"
http GET "$URL/v2/lib/other/blobs/$d"
expect_error 404 BLOB_UNKNOWN
http HEAD "$URL/v2/lib/other/blobs/$d"
check_eq "$STATUS" 404 "HEAD of another repository's blob"

http GET "$URL/v2/no/such/repo/blobs/$missing"
check_eq "$STATUS" 404 "GET blob in an unknown repository"
code=$(jq -r '.errors[0].code' < "$BODY" 2>/dev/null)
case $code in
BLOB_UNKNOWN | NAME_UNKNOWN)
	;;
*)
	fail "GET blob in an unknown repository: error code '$code'"
	;;
esac
exit 0
