#!/bin/bash
# GET /v2/ answers 200 with {} as JSON and the API version header; a path
# that is no route answers 404 with the spec's JSON error body.
. regress/lib.sh

regd_start

http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/"
check_eq "$(cat "$BODY")" "{}" "body of /v2/"
check_eq "$(hdr Docker-Distribution-API-Version)" registry/2.0 \
    "Docker-Distribution-API-Version"
check_match "$(hdr Content-Type)" '^application/json' "Content-Type"
check_eq "$(hdr Content-Length)" 2 "Content-Length"

http HEAD "$URL/v2/"
check_eq "$STATUS" 200 "HEAD /v2/"
check_eq "$(hdr Docker-Distribution-API-Version)" registry/2.0 \
    "Docker-Distribution-API-Version on HEAD"

# /v2 without the slash is the same endpoint for most clients.
http GET "$URL/v2"
check_match "$STATUS" '^(200|301|308)$' "GET /v2"

for path in /nope /v3/ /v2/foo/bar/baz /v2/library/x/unknownendpoint/y \
    /favicon.ico; do
	http GET "$URL$path"
	check_eq "$STATUS" 404 "GET $path"
	check_match "$(hdr Content-Type)" '^application/json' \
	    "Content-Type of the 404 for $path"
	jq -e '.errors | type == "array" and length > 0 and
	    all(.[]; (.code | type == "string") and
	    (.message | type == "string"))' < "$BODY" >/dev/null ||
	    fail "404 body for $path is not the error JSON: $(cat "$BODY")"
	check_eq "$(hdr Docker-Distribution-API-Version)" registry/2.0 \
	    "API version header on the 404 for $path"
done
exit 0
