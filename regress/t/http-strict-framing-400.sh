#!/bin/bash
# Framing is parsed strictly, as a smuggler would probe it: a bare CR in
# a value, a bare LF as a line end, control characters in a value, a
# transfer coding on HTTP/1.0, too many chunk trailers each get a 400 and
# the connection closed; "Connection" is a token list, not a substring.
. regress/lib.sh

regd_start

# bad_req 'raw request' what: one 400 answer, then the connection closes.
bad_req()
{
	raw_req "$1" 3
	check_eq "$RAW_STATUS" 400 "$2: status"
	check_eq "$RAW_NRESP" 1 "$2: answers"
	check_eq "$RAW_CLOSED" 1 "$2: connection closed"
}

bad_req 'GET /v2/ HTTP/1.1\r\nHost: x\rGET /v2/_catalog HTTP/1.1\r\n\r\n' \
    "bare CR in a value"
bad_req 'GET /v2/ HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n' "bare CR mid value"
bad_req 'GET /v2/ HTTP/1.1\nHost: x\n\n' "bare LF line ends"
bad_req 'GET /v2/ HTTP/1.1\r\nHost: x\nX: y\r\n\r\n' "bare LF inside the head"
bad_req 'GET /v2/ HTTP/1.1\r\nHost: x\r\nX-A: a\001b\r\n\r\n' "control in a value"
bad_req 'GET /v2/ HTTP/1.1\r\nHost: x\r\nX-A: a\177b\r\n\r\n' "DEL in a value"
bad_req 'POST /v2/lib/a/blobs/uploads/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
    "Transfer-Encoding on HTTP/1.0"
bad_req 'POST /v2/lib/a/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
    "Transfer-Encoding twice"

# Chunk lines end with CRLF too.
raw_req 'PATCH /v2/lib/a/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\n\n' 3
check_eq "$RAW_CLOSED" 1 "bare LF after a chunk size: closed"

# Trailers count against the head's limits (100 fields).
tr=$(for i in $(seq 1 150); do printf 'T%d: v\\r\\n' "$i"; done)
raw_req "GET /v2/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n$tr\r\nGET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n" 3
check_eq "$RAW_STATUS" 400 "150 trailers: status"
check_eq "$RAW_CLOSED" 1 "150 trailers: closed"
raw_req "GET /v2/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT: \001\r\n\r\n" 3
check_eq "$RAW_STATUS" 400 "control in a trailer"
# A few well-formed trailers are fine.
raw_req 'GET /v2/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT1: a\r\nT2: b\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' 3
check_eq "$RAW_NRESP" 2 "two trailers then a request"

# Connection is a list of tokens: "x-close-x" is not "close".
raw_req 'GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: x-close-x\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: TE, close\r\n\r\n' 3
check_eq "$RAW_NRESP" 2 "Connection: x-close-x keeps the connection"
check_eq "$RAW_CLOSED" 1 "Connection: TE, close closes it"
# A tab is allowed in a value.
raw_req 'GET /v2/ HTTP/1.1\r\nHost: x\r\nX-A: a\tb\r\nConnection: close\r\n\r\n' 3
check_eq "$RAW_STATUS" 200 "a tab in a value"
curl -sf -o /dev/null "$URL/v2/" || fail "no answer afterwards"
regd_stop
