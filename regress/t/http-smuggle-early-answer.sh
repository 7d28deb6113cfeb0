#!/bin/bash
# regress: long 30
# An answer given before a request's body was read (unknown endpoint, bad
# or too long name, too long tag, a method the route does not take) must
# not leave that body to be parsed as the next request: a DELETE hidden in
# the body of such a request never runs, and the connection is closed
# after the answer (or the body was read and thrown away).
. regress/lib.sh

regd_start
push_image lib/victim v1

long=$(head -c 300 /dev/zero | tr '\0' a)
longtag=$(head -c 200 /dev/zero | tr '\0' t)
smug='DELETE /v2/lib/victim/manifests/v1 HTTP/1.1\r\nHost: x\r\n\r\n'
n=$(printf '%b' "$smug" | wc -c)
for target in /nope /v2/nope "/v2/Bad_Name/blobs/uploads/" \
    "/v2/$long/blobs/uploads/" "/v2/lib/victim/manifests/$longtag" \
    "/v2/lib/victim/tags/list/x"; do
	for m in POST PUT PATCH; do
		raw_req "$m $target HTTP/1.1\r\nHost: x\r\nContent-Length: $n\r\n\r\n$smug" 3
		check_eq "$RAW_NRESP" 1 "$m $target: answers (a second is the smuggled DELETE)"
		check_match "$RAW_STATUS" '^4' "$m $target: status"
		http GET "$URL/v2/lib/victim/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
		check_eq "$STATUS" 200 "$m $target: manifest still there"
	done
	# Chunked: the same.
	raw_req "POST $target HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n$(printf '%x' "$n")\r\n$smug\r\n0\r\n\r\n" 3
	check_eq "$RAW_NRESP" 1 "chunked POST $target: answers"
	http GET "$URL/v2/lib/victim/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 200 "chunked POST $target: manifest still there"
done

# A request the route knows but that takes no body: the body is read and
# dropped, the next request on the connection is the real next one.
raw_req "GET /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" 3
check_eq "$RAW_NRESP" 2 "GET with a body then a GET"
http GET "$URL/v2/lib/victim/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 200 "manifest still there at the end"
regd_stop
grep -q '"DELETE ' "$T/access.log" && fail "a smuggled DELETE was logged"
exit 0
