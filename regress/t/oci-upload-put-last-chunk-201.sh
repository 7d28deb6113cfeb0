#!/bin/bash
#
# The last chunk may travel in the closing PUT ?digest=, with or without
# Content-Range: 201 and the blob is the concatenation of all chunks.

. ./regress/lib.sh

regd_start

for how in range plain; do
	make_blob 180000 "$T/blob"
	d=$(sha "$T/blob")
	head -c 100000 "$T/blob" > "$T/c1"
	tail -c +100001 "$T/blob" > "$T/c2"

	upload_start lib/last
	http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
	    -H 'Content-Range: 0-99999' --data-binary "@$T/c1"
	check_eq "$STATUS" 202 "PATCH of the first chunk ($how)"
	LOC=$(loc_url "$(hdr Location)")

	if [ $how = range ]; then
		http PUT "$(add_query "$LOC" "digest=$d")" \
		    -H 'Content-Type: application/octet-stream' \
		    -H 'Content-Range: 100000-179999' --data-binary "@$T/c2"
	else
		http PUT "$(add_query "$LOC" "digest=$d")" \
		    -H 'Content-Type: application/octet-stream' \
		    --data-binary "@$T/c2"
	fi
	check_eq "$STATUS" 201 "closing PUT with the last chunk ($how)"
	check_eq "$(hdr Docker-Content-Digest)" "$d" "Docker-Content-Digest"

	http GET "$URL/v2/lib/last/blobs/$d"
	check_eq "$STATUS" 200 "GET blob ($how)"
	cmp -s "$BODY" "$T/blob" || fail "blob differs ($how)"
done
exit 0
