#!/bin/bash
# Request headers over the size limit (16 KiB) or the count limit (100)
# get 431; headers within them are fine.
. regress/lib.sh

regd_start

long()
{
	head -c "$1" /dev/zero | tr '\0' b
}

http GET "$URL/v2/" -H "X-Big: $(long 8000)"
check_eq "$STATUS" 200 "an 8 KB header"

http GET "$URL/v2/" -H "X-Big: $(long 20000)"
check_eq "$STATUS" 431 "a 20 KB header"

args=()
for i in $(seq 1 90); do
	args+=(-H "X-H$i: $i")
done
http GET "$URL/v2/" "${args[@]}"
check_eq "$STATUS" 200 "90 headers"

for i in $(seq 91 150); do
	args+=(-H "X-H$i: $i")
done
http GET "$URL/v2/" "${args[@]}"
check_eq "$STATUS" 431 "150 headers"

# Many small headers adding up to more than the limit.
args=()
for i in $(seq 1 60); do
	args+=(-H "X-H$i: $(long 400)")
done
http GET "$URL/v2/" "${args[@]}"
check_eq "$STATUS" 431 "60 headers of 400 bytes"

# Endless headers with no blank line are cut off, not buffered.
v=$(long 100)
{
	printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\n'
	for i in $(seq 1 5000); do
		printf 'X-Endless-%d: %s\r\n' "$i" "$v"
	done
} > "$T/req"
raw_http "$T/req" 5
check_eq "$RAW_STATUS" 431 "endless headers"
check_eq "$RAW_CLOSED" 1 "connection closed after 431"

http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ afterwards"
exit 0
