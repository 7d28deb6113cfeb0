#!/bin/bash
#
# DELETE /v2/<name>/blobs/<digest> answers 202, then the blob is 404
# BLOB_UNKNOWN there (still served by another repository that has it);
# deleting it again or an unknown blob is a 404 BLOB_UNKNOWN.

. ./regress/lib.sh

regd_start

make_blob 5000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/db "$T/blob"
push_blob lib/db2 "$T/blob"

http DELETE "$URL/v2/lib/db/blobs/$d"
check_eq "$STATUS" 202 "DELETE blob"

http GET "$URL/v2/lib/db/blobs/$d"
expect_error 404 BLOB_UNKNOWN
http HEAD "$URL/v2/lib/db/blobs/$d"
check_eq "$STATUS" 404 "HEAD after the delete"
http GET "$URL/v2/lib/db2/blobs/$d"
check_eq "$STATUS" 200 "the other repository's link"
cmp -s "$BODY" "$T/blob" || fail "blob differs in the other repository"

http DELETE "$URL/v2/lib/db/blobs/$d"
expect_error 404 BLOB_UNKNOWN
http DELETE "$URL/v2/lib/db/blobs/sha256:$(printf x | sha256sum | cut -c1-64)"
expect_error 404 BLOB_UNKNOWN

# It can be pushed again.
push_blob lib/db "$T/blob"
http GET "$URL/v2/lib/db/blobs/$d"
check_eq "$STATUS" 200 "GET after pushing again"
exit 0
