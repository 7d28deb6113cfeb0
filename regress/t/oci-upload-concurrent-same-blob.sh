#!/bin/bash
#
# Two sessions uploading the same blob at the same time, their chunks
# interleaved, both complete with 201 and the blob is served intact; so
# do eight parallel single-POST uploads of one blob into one repository.

. ./regress/lib.sh

regd_start

make_blob 300000 "$T/blob"
d=$(sha "$T/blob")
head -c 150000 "$T/blob" > "$T/c1"
tail -c +150001 "$T/blob" > "$T/c2"

upload_start lib/same
a=$LOC
upload_start lib/same
b=$LOC
[ "$a" != "$b" ] || fail "two sessions share a Location"

http PATCH "$a" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 0-149999' --data-binary "@$T/c1"
check_eq "$STATUS" 202 "session A, chunk 1"
a=$(loc_url "$(hdr Location)")
http PATCH "$b" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 0-149999' --data-binary "@$T/c1"
check_eq "$STATUS" 202 "session B, chunk 1"
b=$(loc_url "$(hdr Location)")
http PATCH "$b" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 150000-299999' --data-binary "@$T/c2"
check_eq "$STATUS" 202 "session B, chunk 2"
b=$(loc_url "$(hdr Location)")
http PATCH "$a" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 150000-299999' --data-binary "@$T/c2"
check_eq "$STATUS" 202 "session A, chunk 2"
a=$(loc_url "$(hdr Location)")

http PUT "$(add_query "$b" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "session B closes first"
http PUT "$(add_query "$a" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "session A closes second"
http GET "$URL/v2/lib/same/blobs/$d"
check_eq "$STATUS" 200 "GET blob"
cmp -s "$BODY" "$T/blob" || fail "blob differs"

make_blob 2000000 "$T/par"
dp=$(sha "$T/par")
pids=
for i in 1 2 3 4 5 6 7 8; do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -X POST \
	    -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$T/par" \
	    "$URL/v2/lib/same/blobs/uploads/?digest=$dp" > "$T/par.$i" &
	pids="$pids $!"
done
# Not a bare wait: regd is a child of this shell too.
wait $pids
check_eq "$(cat "$T"/par.* | sort | uniq -c | awk '{ print $1 ":" $2 }')" \
    8:201 "statuses of eight parallel uploads"
http GET "$URL/v2/lib/same/blobs/$dp"
check_eq "$STATUS" 200 "GET of the blob uploaded in parallel"
cmp -s "$BODY" "$T/par" || fail "blob uploaded in parallel differs"
exit 0
