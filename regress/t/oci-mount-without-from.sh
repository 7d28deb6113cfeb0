#!/bin/bash
#
# POST ?mount=<d> without `from`: the spec lets the registry mount a blob
# it knows (201, then served) or start an upload (202, which then
# completes); either way the answer is one of the two, never an error.
# A mount of a blob the registry does not know is always a 202.

. ./regress/lib.sh

regd_start

make_blob 3000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/src "$T/blob"

http POST "$URL/v2/lib/dst/blobs/uploads/?mount=$d" -H 'Content-Length: 0'
case $STATUS in
201)
	note "mounted without from"
	check_eq "$(hdr Docker-Content-Digest)" "$d" "Docker-Content-Digest"
	;;
202)
	note "mount without from started an upload"
	LOC=$(loc_url "$(hdr Location)")
	http PUT "$(add_query "$LOC" "digest=$d")" \
	    -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$T/blob"
	check_eq "$STATUS" 201 "upload after the 202"
	;;
*)
	fail "POST ?mount= without from: status $STATUS: $(head -c 300 "$BODY")"
	;;
esac
http GET "$URL/v2/lib/dst/blobs/$d"
check_eq "$STATUS" 200 "GET in the target"
cmp -s "$BODY" "$T/blob" || fail "blob differs"

unknown=sha256:$(printf 'unknown' | sha256sum | cut -d' ' -f1)
http POST "$URL/v2/lib/dst/blobs/uploads/?mount=$unknown" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 202 "mount of an unknown blob without from"
[ -n "$(hdr Location)" ] || fail "no Location"
exit 0
