#!/bin/bash
#
# A streamed PATCH whose body comes with Transfer-Encoding: chunked, as Go
# clients (skopeo, podman, docker) send a layer of unknown length, is
# stored whole; so is a closing PUT sent the same way.

. ./regress/lib.sh

regd_start

make_blob 400000 "$T/blob"
d=$(sha "$T/blob")
head -c 250000 "$T/blob" > "$T/c1"
tail -c +250001 "$T/blob" > "$T/c2"

upload_start lib/te
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$T/c1"
check_eq "$STATUS" 202 "PATCH with a chunked body"
check_eq "$(hdr Range)" 0-249999 "Range after the chunked PATCH"
LOC=$(loc_url "$(hdr Location)")

http PUT "$(add_query "$LOC" "digest=$d")" \
    -H 'Content-Type: application/octet-stream' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$T/c2"
check_eq "$STATUS" 201 "closing PUT with a chunked body"

http GET "$URL/v2/lib/te/blobs/$d"
check_eq "$STATUS" 200 "GET blob"
cmp -s "$BODY" "$T/blob" || fail "blob sent chunked differs"
exit 0
