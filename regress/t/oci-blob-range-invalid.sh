#!/bin/bash
#
# A Range header that is not a satisfiable byte range of the blob in the
# RFC 9110 grammar (another unit, garbage, first > last) is ignored (200
# with the whole blob) or refused with 416; never a 5xx or a wrong body.

. ./regress/lib.sh

regd_start

make_blob 1000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/rg "$T/blob"

for r in "items=0-10" "bytes=abc" "bytes=5-2" "bytes=" "bytes=--1" \
    "bytes=0-18446744073709551616" "garbage"; do
	http GET "$URL/v2/lib/rg/blobs/$d" -H "Range: $r"
	case $STATUS in
	200)
		cmp -s "$BODY" "$T/blob" ||
		    fail "Range: $r: 200 with a wrong body"
		check_eq "$(hdr Content-Length)" 1000 \
		    "Range: $r: Content-Length"
		;;
	416)
		;;
	*)
		fail "Range: $r: status $STATUS"
		;;
	esac
done
exit 0
