#!/bin/bash
# regress: long 25
# Requests whose first line is not an HTTP/1.x request line get a 400
# and the connection is closed; the server goes on serving others.
. regress/lib.sh

regd_start

# The control: the raw client sees a good request answered.
raw_req 'GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
check_eq "$RAW_STATUS" 200 "a well-formed raw request"
check_eq "$RAW_CLOSED" 1 "connection closed after Connection: close"

# bad NAME BYTES [STATUS-REGEX]
bad()
{
	raw_req "$2" 5
	note "$1: status $RAW_STATUS, closed $RAW_CLOSED after ${RAW_TIME}s"
	check_match "$RAW_STATUS" "^(${3:-400})\$" "status for $1"
	check_eq "$RAW_CLOSED" 1 "connection closed after $1"
	if [ "$RAW_NRESP" -gt 1 ]; then
		fail "$RAW_NRESP responses to $1"
	fi
}

bad "garbage" 'GARBAGE\r\n\r\n'
bad "missing version" 'GET /v2/\r\n\r\n'
bad "HTTP/2.0" 'GET /v2/ HTTP/2.0\r\nHost: x\r\n\r\n' '400|505'
bad "HTTP/3.1" 'GET /v2/ HTTP/3.1\r\nHost: x\r\n\r\n' '400|505'
bad "not HTTP" 'GET /v2/ FTP/1.1\r\nHost: x\r\n\r\n'
bad "bad method chars" 'G@T /v2/ HTTP/1.1\r\nHost: x\r\n\r\n'
bad "method with a slash" 'GE/T /v2/ HTTP/1.1\r\nHost: x\r\n\r\n'
bad "empty method" ' /v2/ HTTP/1.1\r\nHost: x\r\n\r\n'
bad "four words" 'GET /v2/ HTTP/1.1 extra\r\nHost: x\r\n\r\n'
bad "NUL in the line" 'GET /v2/\0 HTTP/1.1\r\nHost: x\r\n\r\n'
bad "control char in target" 'GET /v2/\001 HTTP/1.1\r\nHost: x\r\n\r\n'
bad "target not a path" 'GET v2/ HTTP/1.1\r\nHost: x\r\n\r\n'
bad "version garbage" 'GET /v2/ HTTP/1.x\r\nHost: x\r\n\r\n'
bad "header without colon" 'GET /v2/ HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n'
bad "space before colon" 'GET /v2/ HTTP/1.1\r\nHost : x\r\n\r\n'
bad "binary" '\377\376\375\374\r\n\r\n'

http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ after the bad requests"
alive "$REGD_PID" || fail "regd died"
check_eq "$(pids_titled frontend | wc -l)" 2 "frontends alive"
exit 0
