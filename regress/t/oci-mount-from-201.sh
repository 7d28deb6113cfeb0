#!/bin/bash
#
# POST ?mount=<d>&from=<repo> of a blob that <repo> has mounts it: 201 with
# the blob's Location in the target repository and Docker-Content-Digest,
# the blob is then served there and still in the source.

. ./regress/lib.sh

regd_start

make_blob 40000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/src "$T/blob"

http GET "$URL/v2/lib/dst/blobs/$d"
check_eq "$STATUS" 404 "GET before the mount"

http POST "$URL/v2/lib/dst/blobs/uploads/?mount=$d&from=lib/src" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "mount from a repository that has the blob"
check_eq "$(hdr Docker-Content-Digest)" "$d" "Docker-Content-Digest"
loc=$(hdr Location)
check_match "${loc#http://127.0.0.1:$PORT}" "^/v2/lib/dst/blobs/$d\$" \
    "Location"

http GET "$(loc_url "$loc")"
check_eq "$STATUS" 200 "GET of the mounted blob"
cmp -s "$BODY" "$T/blob" || fail "mounted blob differs"
http GET "$URL/v2/lib/src/blobs/$d"
check_eq "$STATUS" 200 "GET in the source after the mount"
exit 0
