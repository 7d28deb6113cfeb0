#!/bin/bash
#
# A blob pushed in a single POST /v2/<name>/blobs/uploads/?digest=<d> is
# created at once: 201 with the blob's Location and Docker-Content-Digest,
# and is then served from that Location.

. ./regress/lib.sh

regd_start

make_blob 123457 "$T/blob"
d=$(sha "$T/blob")

http POST "$URL/v2/lib/mono/blobs/uploads/?digest=$d" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/blob"
check_eq "$STATUS" 201 "POST ?digest= with the whole blob"
check_eq "$(hdr Docker-Content-Digest)" "$d" "Docker-Content-Digest"
loc=$(hdr Location)
check_match "${loc#http://127.0.0.1:$PORT}" "^/v2/lib/mono/blobs/$d\$" \
    "Location"

http GET "$(loc_url "$loc")"
check_eq "$STATUS" 200 "GET of the Location"
cmp -s "$BODY" "$T/blob" || fail "served blob differs"
exit 0
