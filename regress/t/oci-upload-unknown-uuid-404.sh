#!/bin/bash
#
# An upload UUID the registry never gave, or one of another repository, is
# unknown: GET, PATCH, PUT and DELETE answer 404 BLOB_UPLOAD_UNKNOWN.  A
# session id that is not a UUID at all never gets a 500.

. ./regress/lib.sh

regd_start

make_blob 100 "$T/c"
d=$(sha "$T/c")

# unknown URL: the four methods on one upload URL.
unknown()
{
	http GET "$1"
	expect_error 404 BLOB_UPLOAD_UNKNOWN
	http PATCH "$1" -H 'Content-Type: application/octet-stream' \
	    -H 'Content-Range: 0-99' --data-binary "@$T/c"
	expect_error 404 BLOB_UPLOAD_UNKNOWN
	http PUT "$(add_query "$1" "digest=$d")" \
	    -H 'Content-Type: application/octet-stream' --data-binary "@$T/c"
	expect_error 404 BLOB_UPLOAD_UNKNOWN
	http DELETE "$1"
	expect_error 404 BLOB_UPLOAD_UNKNOWN
}

unknown "$URL/v2/lib/uu/blobs/uploads/6f0b6a4e-3c1d-4c55-9b0e-7f2d3f9f1a22"

# A real session belongs to its repository only.
upload_start lib/mine
uuid=$(hdr Docker-Upload-UUID)
push_blob lib/yours "$T/c"
unknown "$URL/v2/lib/yours/blobs/uploads/$uuid"
http GET "$LOC"
check_eq "$STATUS" 204 "the session in its own repository"

for bad in 'not-a-uuid' '..' '%2e%2e' '..%2f..%2fdata' \
    "$(printf 'a%.0s' $(seq 300))"; do
	http GET "$URL/v2/lib/uu/blobs/uploads/$bad"
	case $STATUS in
	400 | 404)
		;;
	*)
		fail "GET of upload '$bad': status $STATUS"
		;;
	esac
	http PUT "$URL/v2/lib/uu/blobs/uploads/$bad?digest=$d" \
	    -H 'Content-Type: application/octet-stream' --data-binary "@$T/c"
	case $STATUS in
	400 | 404)
		;;
	*)
		fail "PUT of upload '$bad': status $STATUS"
		;;
	esac
done
http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ at the end"
exit 0
