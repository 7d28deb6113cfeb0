#!/bin/bash
#
# GET /v2/ answers 200 with the Docker-Distribution-API-Version header the
# spec recommends, and so does HEAD; an unknown path under /v2/ is a 404.

. ./regress/lib.sh

regd_start

http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/"
check_eq "$(hdr Docker-Distribution-API-Version)" registry/2.0 \
    "Docker-Distribution-API-Version"

http HEAD "$URL/v2/"
check_eq "$STATUS" 200 "HEAD /v2/"
check_eq "$(hdr Docker-Distribution-API-Version)" registry/2.0 \
    "Docker-Distribution-API-Version on HEAD"

# The same without the trailing slash is what some clients send first.
http GET "$URL/v2"
case $STATUS in
200 | 301 | 308)
	;;
*)
	fail "GET /v2 without slash: status $STATUS"
	;;
esac

http GET "$URL/v2/no/such/endpoint/here"
check_eq "$STATUS" 404 "GET of an unknown endpoint"
exit 0
