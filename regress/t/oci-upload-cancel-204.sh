#!/bin/bash
#
# DELETE <location> cancels an upload: 204, then the session is unknown to
# GET, PATCH, PUT and DELETE (404 BLOB_UPLOAD_UNKNOWN) and nothing of it
# became a blob.

. ./regress/lib.sh

regd_start

make_blob 5000 "$T/c1"
d=$(sha "$T/c1")
upload_start lib/cancel
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 0-4999' --data-binary "@$T/c1"
check_eq "$STATUS" 202 "PATCH"
LOC=$(loc_url "$(hdr Location)")

http DELETE "$LOC"
check_eq "$STATUS" 204 "DELETE of the upload"

http GET "$LOC"
expect_error 404 BLOB_UPLOAD_UNKNOWN
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 5000-9999' --data-binary "@$T/c1"
expect_error 404 BLOB_UPLOAD_UNKNOWN
http PUT "$(add_query "$LOC" "digest=$d")" -H 'Content-Length: 0'
expect_error 404 BLOB_UPLOAD_UNKNOWN
http DELETE "$LOC"
expect_error 404 BLOB_UPLOAD_UNKNOWN

http GET "$URL/v2/lib/cancel/blobs/$d"
check_eq "$STATUS" 404 "GET of the cancelled upload's bytes as a blob"
exit 0
