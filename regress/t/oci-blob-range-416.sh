#!/bin/bash
#
# A Range that starts at or past the end of a blob is unsatisfiable: 416
# with Content-Range "bytes */<size>", and the daemon keeps serving.

. ./regress/lib.sh

regd_start

make_blob 5000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/range "$T/blob"

for r in "bytes=5000-" "bytes=5000-6000" "bytes=9999-10000"; do
	http GET "$URL/v2/lib/range/blobs/$d" -H "Range: $r"
	check_eq "$STATUS" 416 "status for Range: $r"
	check_eq "$(hdr Content-Range)" "bytes */5000" \
	    "Content-Range for Range: $r"
done

http GET "$URL/v2/lib/range/blobs/$d"
check_eq "$STATUS" 200 "GET after the 416 answers"
cmp -s "$BODY" "$T/blob" || fail "blob changed"
exit 0
