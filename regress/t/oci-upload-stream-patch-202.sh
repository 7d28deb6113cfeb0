#!/bin/bash
#
# PATCH without Content-Range streams the body as the next chunk: two such
# PATCHes append, Range follows, and the closing PUT gives the exact blob.

. ./regress/lib.sh

regd_start

make_blob 150000 "$T/blob"
d=$(sha "$T/blob")
head -c 60000 "$T/blob" > "$T/c1"
tail -c +60001 "$T/blob" > "$T/c2"

upload_start lib/stream
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/c1"
check_eq "$STATUS" 202 "first streamed PATCH"
check_eq "$(hdr Range)" 0-59999 "Range after the first PATCH"
LOC=$(loc_url "$(hdr Location)")

http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/c2"
check_eq "$STATUS" 202 "second streamed PATCH"
check_eq "$(hdr Range)" 0-149999 "Range after the second PATCH"
LOC=$(loc_url "$(hdr Location)")

http PUT "$(add_query "$LOC" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "closing PUT"
http GET "$URL/v2/lib/stream/blobs/$d"
check_eq "$STATUS" 200 "GET blob"
cmp -s "$BODY" "$T/blob" || fail "streamed blob differs"
exit 0
