#!/bin/bash
#
# Chunks must come in order: a first chunk not starting at 0, a gap, or an
# overlap answer 416 and leave the session as it was, so the right chunk
# is still accepted and the blob completes intact.

. ./regress/lib.sh

regd_start

make_blob 200000 "$T/blob"
d=$(sha "$T/blob")
head -c 100000 "$T/blob" > "$T/c1"
tail -c +100001 "$T/blob" > "$T/c2"

upload_start lib/order
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 10-100009' --data-binary "@$T/c1"
check_eq "$STATUS" 416 "first chunk starting at 10"
http GET "$LOC"
check_eq "$STATUS" 204 "status after the 416"
check_eq "$(hdr Range)" 0-0 "Range after the refused first chunk"

http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 0-99999' --data-binary "@$T/c1"
check_eq "$STATUS" 202 "first chunk"
LOC=$(loc_url "$(hdr Location)")

http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 100100-200099' --data-binary "@$T/c2"
check_eq "$STATUS" 416 "chunk leaving a gap"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 0-99999' --data-binary "@$T/c1"
check_eq "$STATUS" 416 "chunk sent again (overlap)"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 99999-199998' --data-binary "@$T/c2"
check_eq "$STATUS" 416 "chunk overlapping by one byte"

http GET "$LOC"
check_eq "$STATUS" 204 "status after the refused chunks"
check_eq "$(hdr Range)" 0-99999 "Range after the refused chunks"

http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 100000-199999' --data-binary "@$T/c2"
check_eq "$STATUS" 202 "second chunk in order"
LOC=$(loc_url "$(hdr Location)")
http PUT "$(add_query "$LOC" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "closing PUT"
http GET "$URL/v2/lib/order/blobs/$d"
check_eq "$STATUS" 200 "GET blob"
cmp -s "$BODY" "$T/blob" || fail "blob differs after refused chunks"
exit 0
