#!/bin/bash
#
# POST then PUT <location>?digest=<d> with the whole blob as the body: 201
# with the blob's Location and digest; the blob is served, and the
# finished session is gone (404 BLOB_UPLOAD_UNKNOWN).

. ./regress/lib.sh

regd_start

make_blob 300001 "$T/blob"
d=$(sha "$T/blob")

upload_start lib/pp
http PUT "$(add_query "$LOC" "digest=$d")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/blob"
check_eq "$STATUS" 201 "PUT ?digest= with the whole blob"
check_eq "$(hdr Docker-Content-Digest)" "$d" "Docker-Content-Digest"
bloc=$(hdr Location)
check_match "${bloc#http://127.0.0.1:$PORT}" "^/v2/lib/pp/blobs/$d\$" \
    "Location"

http GET "$(loc_url "$bloc")"
check_eq "$STATUS" 200 "GET blob"
cmp -s "$BODY" "$T/blob" || fail "served blob differs"

http GET "$LOC"
expect_error 404 BLOB_UPLOAD_UNKNOWN
exit 0
