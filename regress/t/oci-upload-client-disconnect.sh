#!/bin/bash
#
# A client that sends half of a body and hangs up commits nothing.  A cut
# PATCH is undone whole (storage truncates the upload back to where the
# PATCH started, store_fs.c upload_rollback): the session survives with
# exactly the bytes of the earlier chunks (Range 0-99999) and completes
# from there to the exact blob.  A cut single POST ?digest= and a cut
# closing PUT leave no blob behind; the daemon keeps answering.

. ./regress/lib.sh

regd_start

# cut_request METHOD PATH TOTAL FILE: send the request head with
# Content-Length TOTAL, then FILE (shorter than TOTAL), then hang up.
cut_request()
{
	python3 - "$PORT" "$@" <<'PY' || fail "python3 client"
import socket, sys, time
port, method, path, total, fname = sys.argv[1:6]
data = open(fname, "rb").read()
s = socket.create_connection(("127.0.0.1", int(port)))
s.sendall(("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Length: %s\r\n\r\n" % (method, path, port, total)).encode())
s.sendall(data)
time.sleep(0.3)
s.close()
PY
}

# path_of URL: the path and query of an absolute URL.
path_of()
{
	printf '%s\n' "$1" | sed -e 's|^https\{0,1\}://[^/]*||'
}

make_blob 300000 "$T/blob"
d=$(sha "$T/blob")
head -c 100000 "$T/blob" > "$T/c1"
tail -c +100001 "$T/blob" | head -c 100000 > "$T/half"

# A PATCH cut in the middle of the second chunk.
upload_start lib/cut
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 0-99999' --data-binary "@$T/c1"
check_eq "$STATUS" 202 "first chunk"
LOC=$(loc_url "$(hdr Location)")
cut_request PATCH "$(path_of "$LOC")" 200000 "$T/half"

# The server may take a moment to notice; ask until the answer settles.
n=0
while :; do
	http GET "$LOC"
	[ "$STATUS" = 204 ] || [ "$STATUS" = 404 ] ||
	    fail "status after the cut: $STATUS"
	prev=$STATUS/$(hdr Range)
	sleep 0.3
	http GET "$LOC"
	[ "$STATUS/$(hdr Range)" = "$prev" ] && break
	n=$((n + 1))
	[ $n -lt 20 ] || fail "upload status keeps changing after the cut"
done

http GET "$URL/v2/lib/cut/blobs/$d"
check_eq "$STATUS" 404 "GET of the blob after the cut PATCH"

http GET "$LOC"
check_eq "$STATUS" 204 "status of the upload session after the cut PATCH"
check_eq "$(hdr Range)" "0-99999" "Range after the cut PATCH (rolled back)"
LOC=$(loc_url "$(hdr Location)")
tail -c +100001 "$T/blob" > "$T/rest"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: 100000-299999" --data-binary "@$T/rest"
check_eq "$STATUS" 202 "PATCH resuming at 100000"
check_eq "$(hdr Range)" "0-299999" "Range after the resumed PATCH"
LOC=$(loc_url "$(hdr Location)")
http PUT "$(add_query "$LOC" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "closing PUT after the resume"
http GET "$URL/v2/lib/cut/blobs/$d"
check_eq "$STATUS" 200 "GET of the resumed blob"
cmp -s "$BODY" "$T/blob" || fail "resumed blob differs"

# A single POST ?digest= cut in the middle.
make_blob 300000 "$T/blob2"
d2=$(sha "$T/blob2")
head -c 150000 "$T/blob2" > "$T/half2"
cut_request POST "/v2/lib/cut2/blobs/uploads/?digest=$d2" 300000 "$T/half2"
sleep 0.5
http GET "$URL/v2/lib/cut2/blobs/$d2"
check_eq "$STATUS" 404 "GET of the blob after the cut POST"

# A closing PUT cut in the middle.
upload_start lib/cut3
cut_request PUT "$(path_of "$(add_query "$LOC" "digest=$d2")")" 300000 \
    "$T/half2"
sleep 0.5
http GET "$URL/v2/lib/cut3/blobs/$d2"
check_eq "$STATUS" 404 "GET of the blob after the cut PUT"
http HEAD "$URL/v2/lib/cut3/blobs/$d2"
check_eq "$STATUS" 404 "HEAD of the blob after the cut PUT"

# And the same blob still uploads properly afterwards.
push_blob lib/cut3 "$T/blob2"
http GET "$URL/v2/lib/cut3/blobs/$d2"
check_eq "$STATUS" 200 "GET after a proper upload"
cmp -s "$BODY" "$T/blob2" || fail "blob differs"
exit 0
