#!/bin/bash
#
# A PATCH whose Content-Range is malformed, runs backwards, or does not
# match the length of the body is refused with 400 or 416 (never taken,
# never a 5xx) and leaves the session untouched: its status still says
# 0-0 and the right chunk is then accepted.

. ./regress/lib.sh

regd_start

make_blob 100 "$T/c100"
head -c 50 "$T/c100" > "$T/c50"
d=$(sha "$T/c100")
upload_start lib/cr

# bad RANGE FILE
bad()
{
	http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
	    -H "Content-Range: $1" --data-binary "@$2"
	case $STATUS in
	400 | 416)
		;;
	*)
		fail "PATCH with Content-Range '$1' and" \
		    "$(stat -c %s "$2") bytes: status $STATUS"
		;;
	esac
	http GET "$LOC"
	check_eq "$STATUS" 204 "status after Content-Range '$1'"
	check_eq "$(hdr Range)" 0-0 "Range after Content-Range '$1'"
}

bad "99-0" "$T/c100"
bad "0-99" "$T/c50"
bad "0-49" "$T/c100"
bad "abc" "$T/c100"
bad "0-" "$T/c100"
bad "-99" "$T/c100"
bad "0-99-100" "$T/c100"
bad "0-18446744073709551616" "$T/c100"

http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 0-99' --data-binary "@$T/c100"
check_eq "$STATUS" 202 "the right chunk after the refused ones"
LOC=$(loc_url "$(hdr Location)")
http PUT "$(add_query "$LOC" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "closing PUT"
http GET "$URL/v2/lib/cr/blobs/$d"
cmp -s "$BODY" "$T/c100" || fail "blob differs"
exit 0
