#!/bin/bash
# regress: long 30
# Found by fuzz-http-mutated-requests: a request with a body on an
# endpoint that takes none (a POST that opens an upload session, a GET
# of a tag list or manifest, a DELETE) has its body read and dropped,
# then gets exactly one answer.  regd used to dispatch such a request
# again and again, sending storage a request per turn of the loop, until
# the frontend ran out of memory.
. regress/lib.sh

# A runaway frontend must fail this test, not exhaust the machine.
[ -n "${REGD_ASAN:-}" ] || ulimit -v 2000000
regd_start
push_image body/app v1
uploads=$T/storage/docker/registry/v2/repositories/body/app/_uploads

rss_frontends()
{
	local p sum=0 kb

	for p in $(pids_titled frontend); do
		kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status")
		sum=$((sum + ${kb:-0}))
	done
	echo "$sum"
}

before=$(procs_of "$REGD_PID" | awk '{ print $1 }' | sort | tr '\n' ' ')
rss0=$(rss_frontends)
n0=$(find "$uploads" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)

# try WANT METHOD PATH: the request with a 5-byte body, alone on its
# connection; one answer with status WANT, and nothing after it.
try()
{
	raw_req "$2 $3 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" 1
	check_eq "$RAW_STATUS" "$1" "$2 $3 with a body"
	check_eq "$RAW_NRESP" 1 "answers to $2 $3 with a body"
	raw_req "$2 $3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" 1
	check_eq "$RAW_STATUS" "$1" "$2 $3 with a chunked body"
	check_eq "$RAW_NRESP" 1 "answers to $2 $3 with a chunked body"
}

try 202 POST /v2/body/app/blobs/uploads/
try 202 POST "/v2/body/app/blobs/uploads/?mount=$IMG_LAYER"
try 200 GET /v2/body/app/tags/list
try 200 GET /v2/body/app/manifests/v1
try 200 GET "/v2/body/app/blobs/$IMG_LAYER"
try 404 GET /v2/body/nothing/tags/list
sleep 1

# Four POSTs, four sessions: not one per turn of a loop.
n1=$(find "$uploads" -mindepth 1 -maxdepth 1 | wc -l)
check_eq "$((n1 - n0))" 4 "upload sessions opened"
rss1=$(rss_frontends)
note "frontends' RSS: $rss0 KiB before, $rss1 KiB after"
[ $((rss1 - rss0)) -lt 16384 ] || fail "frontends grew by $((rss1 - rss0)) KiB"
after=$(procs_of "$REGD_PID" | awk '{ print $1 }' | sort | tr '\n' ' ')
check_eq "$after" "$before" "regd processes"
http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ afterwards"
exit 0
