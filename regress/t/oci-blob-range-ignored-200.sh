#!/bin/bash
# A Range of another unit, or of several byte ranges, is ignored as nginx
# and Distribution do: 200 with the whole blob, not 416.  A Content-Range
# whose length overflows (0-9223372036854775807) is refused with 416.
. regress/lib.sh

regd_start
make_blob 1000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/rg "$T/blob"
for r in "items=0-1" "bytes=0-1,5-9" "bytes=0-1, 3-4" "pages=1"; do
	http GET "$URL/v2/lib/rg/blobs/$d" -H "Range: $r"
	check_eq "$STATUS" 200 "Range: $r"
	cmp -s "$BODY" "$T/blob" || fail "Range: $r: not the whole blob"
done
http GET "$URL/v2/lib/rg/blobs/$d" -H "Range: bytes=2000-"
check_eq "$STATUS" 416 "a single unsatisfiable byte range"

upload_start lib/rg
http PATCH "$LOC" -H 'Content-Range: 0-9223372036854775807' \
    -H 'Content-Type: application/octet-stream' --data-binary 0123456789
check_eq "$STATUS" 416 "Content-Range overflowing a length"
regd_stop
