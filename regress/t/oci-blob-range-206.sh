#!/bin/bash
#
# GET of a blob with a Range header answers 206 with Content-Range and
# exactly the bytes asked for: a closed range, an open one, a suffix, and
# one that runs past the end (clamped, as RFC 9110 says).

. ./regress/lib.sh

regd_start

make_blob 70000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/range "$T/blob"

# range FIRST LAST HEADER-VALUE: check one 206 answer.
range()
{
	local first=$1 last=$2 n

	n=$((last - first + 1))
	http GET "$URL/v2/lib/range/blobs/$d" -H "Range: $3"
	check_eq "$STATUS" 206 "status for Range: $3"
	check_eq "$(hdr Content-Range)" "bytes $first-$last/70000" \
	    "Content-Range for Range: $3"
	check_eq "$(hdr Content-Length)" "$n" "Content-Length for Range: $3"
	tail -c +$((first + 1)) "$T/blob" | head -c "$n" > "$T/want"
	cmp -s "$BODY" "$T/want" ||
	    fail "body for Range: $3 is not bytes $first-$last"
}

range 100 199 "bytes=100-199"
range 0 0 "bytes=0-0"
range 69990 69999 "bytes=69990-"
range 69995 69999 "bytes=-5"
range 69000 69999 "bytes=69000-80000"
range 0 69999 "bytes=0-"
exit 0
