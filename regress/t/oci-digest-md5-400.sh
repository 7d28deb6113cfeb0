#!/bin/bash
#
# A digest of an algorithm the registry does not support (md5) is 400
# DIGEST_INVALID: for a single POST, a closing PUT and a blob GET; no blob
# is stored.

. ./regress/lib.sh

regd_start

make_blob 1000 "$T/blob"
md5=md5:$(md5sum < "$T/blob" | cut -d' ' -f1)

http POST "$URL/v2/lib/md5/blobs/uploads/?digest=$md5" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/blob"
expect_error 400 DIGEST_INVALID

upload_start lib/md5
http PUT "$(add_query "$LOC" "digest=$md5")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/blob"
expect_error 400 DIGEST_INVALID

http GET "$URL/v2/lib/md5/blobs/$md5"
expect_error 400 DIGEST_INVALID

http GET "$URL/v2/lib/md5/blobs/$(sha "$T/blob")"
check_eq "$STATUS" 404 "the bytes were not stored under sha256"
exit 0
