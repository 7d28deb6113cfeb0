#!/bin/bash
#
# Blobs named by sha512 digests upload (single POST, and POST, PATCH,
# PUT) and are served by that digest with the exact bytes; a
# Docker-Content-Digest, when sent, matches the body; a wrong sha512 is
# 400 DIGEST_INVALID.

. ./regress/lib.sh

regd_start

sha512()
{
	echo "sha512:$(sha512sum < "$1" | cut -d' ' -f1)"
}

# served REPO DIGEST FILE
served()
{
	local dcd

	http GET "$URL/v2/$1/blobs/$2"
	check_eq "$STATUS" 200 "GET $2"
	cmp -s "$BODY" "$3" || fail "GET $2: body differs"
	dcd=$(hdr Docker-Content-Digest)
	case $dcd in
	'' | "$2" | "$(sha "$3")")
		;;
	*)
		fail "Docker-Content-Digest $dcd does not match the body"
		;;
	esac
	http HEAD "$URL/v2/$1/blobs/$2"
	check_eq "$STATUS" 200 "HEAD $2"
	check_eq "$(hdr Content-Length)" "$(stat -c %s "$3")" \
	    "HEAD Content-Length"
}

make_blob 77777 "$T/a"
da=$(sha512 "$T/a")
http POST "$URL/v2/lib/s512/blobs/uploads/?digest=$da" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/a"
check_eq "$STATUS" 201 "single POST with a sha512 digest"
served lib/s512 "$da" "$T/a"

make_blob 150000 "$T/b"
db=$(sha512 "$T/b")
head -c 100000 "$T/b" > "$T/b1"
tail -c +100001 "$T/b" > "$T/b2"
upload_start lib/s512
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 0-99999' --data-binary "@$T/b1"
check_eq "$STATUS" 202 "PATCH"
LOC=$(loc_url "$(hdr Location)")
http PUT "$(add_query "$LOC" "digest=$db")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/b2"
check_eq "$STATUS" 201 "closing PUT with a sha512 digest"
served lib/s512 "$db" "$T/b"

make_blob 1000 "$T/c"
upload_start lib/s512
http PUT "$(add_query "$LOC" "digest=$da")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/c"
expect_error 400 DIGEST_INVALID
exit 0
