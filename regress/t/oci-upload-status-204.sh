#!/bin/bash
#
# GET <location> reports an upload's progress: 204, no body, Location,
# Docker-Upload-UUID, and Range 0-0 when empty then 0-<last byte>.

. ./regress/lib.sh

regd_start

upload_start lib/status
uuid=$(hdr Docker-Upload-UUID)

http GET "$LOC"
check_eq "$STATUS" 204 "status of an empty upload"
check_eq "$(hdr Range)" 0-0 "Range of an empty upload"
check_eq "$(hdr Docker-Upload-UUID)" "$uuid" "Docker-Upload-UUID"
[ -n "$(hdr Location)" ] || fail "no Location in the status"
[ -s "$BODY" ] && fail "204 with a body"

make_blob 1000 "$T/c1"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 0-999' --data-binary "@$T/c1"
check_eq "$STATUS" 202 "PATCH"
LOC=$(loc_url "$(hdr Location)")

http GET "$LOC"
check_eq "$STATUS" 204 "status after 1000 bytes"
check_eq "$(hdr Range)" 0-999 "Range after 1000 bytes"
check_eq "$(hdr Docker-Upload-UUID)" "$uuid" "Docker-Upload-UUID"

# The Location of the status is usable to continue.
LOC=$(loc_url "$(hdr Location)")
make_blob 24 "$T/c2"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 1000-1023' --data-binary "@$T/c2"
check_eq "$STATUS" 202 "PATCH at the status's Location"
check_eq "$(hdr Range)" 0-1023 "Range after 1024 bytes"
exit 0
