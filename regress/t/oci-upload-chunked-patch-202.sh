#!/bin/bash
#
# A blob uploaded in three PATCH chunks with Content-Range: each answers
# 202 with Location, Docker-Upload-UUID and Range 0-<end>; a PUT with the
# digest and no body closes the session with 201 and the blob is exact.

. ./regress/lib.sh

regd_start

make_blob 255555 "$T/blob"
d=$(sha "$T/blob")
head -c 100000 "$T/blob" > "$T/c1"
tail -c +100001 "$T/blob" | head -c 100000 > "$T/c2"
tail -c +200001 "$T/blob" > "$T/c3"

upload_start lib/chunks
uuid=$(hdr Docker-Upload-UUID)

# chunk FILE FIRST LAST
chunk()
{
	http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
	    -H "Content-Range: $2-$3" --data-binary "@$1"
	check_eq "$STATUS" 202 "PATCH $2-$3"
	check_eq "$(hdr Range)" "0-$3" "Range after PATCH $2-$3"
	check_eq "$(hdr Docker-Upload-UUID)" "$uuid" "Docker-Upload-UUID"
	[ -n "$(hdr Location)" ] || fail "no Location after PATCH $2-$3"
	LOC=$(loc_url "$(hdr Location)")
}

chunk "$T/c1" 0 99999
chunk "$T/c2" 100000 199999
chunk "$T/c3" 200000 255554

http PUT "$(add_query "$LOC" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "closing PUT"
check_eq "$(hdr Docker-Content-Digest)" "$d" "Docker-Content-Digest"

http GET "$URL/v2/lib/chunks/blobs/$d"
check_eq "$STATUS" 200 "GET blob"
cmp -s "$BODY" "$T/blob" || fail "chunked blob differs"
exit 0
