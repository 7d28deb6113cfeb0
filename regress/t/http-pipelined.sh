#!/bin/bash
# Requests written together in one packet get their answers in order.
. regress/lib.sh

regd_start

raw_req 'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/no/such/route/x HTTP/1.1\r\nHost: x\r\n\r\nHEAD /v2/ HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' 5
cat "$T/raw.resp" >&2
check_eq "$RAW_NRESP" 4 "responses"
check_eq "$RAW_CLOSED" 1 "closed after Connection: close"
check_eq "$(awk '{ print $1 }' "$T/raw.resp" | tr '\n' ' ')" \
    "200 404 200 200 " "statuses in order"
check_eq "$(sed -n 1p "$T/raw.resp")" '200 2 "{}"' "first answer"
check_eq "$(sed -n 3p "$T/raw.resp" | cut -d' ' -f2)" 0 "HEAD has no body"

# Fifty in one write.
: > "$T/req"
for i in $(seq 1 49); do
	if [ $((i % 2)) -eq 0 ]; then
		printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n' >> "$T/req"
	else
		printf 'GET /v2/nope%d HTTP/1.1\r\nHost: x\r\n\r\n' "$i" >> "$T/req"
	fi
done
printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >> "$T/req"
raw_http "$T/req" 5
check_eq "$RAW_NRESP" 50 "responses to 50 pipelined requests"
want=$(for i in $(seq 1 49); do
	if [ $((i % 2)) -eq 0 ]; then echo 200; else echo 404; fi
done; echo 200)
check_eq "$(awk '{ print $1 }' "$T/raw.resp")" "$want" "statuses in order"
exit 0
