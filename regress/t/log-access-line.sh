#!/bin/bash
# Each request leaves one access log line with the client address, method,
# path, status, bytes and duration; after the file is moved away and regd
# gets SIGHUP, new lines go to a new file at the old path.
. regress/lib.sh

regd_start
log=$T/access.log

# wait_line FILE PATTERN: the line of FILE matching PATTERN (fixed string).
wait_line()
{
	local i

	for i in $(seq 1 50); do
		if grep -F -- "$2" "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# The harness's own GET /v2/ is logged already.
wait_line "$log" '"GET /v2/ ' > /dev/null || fail "no access line at start"
before=$(grep -c . "$log")
http GET "$URL/v2/" -H 'User-Agent: regress'
check_eq "$STATUS" 200 "GET /v2/"
sleep 0.3
check_eq "$(grep -c . "$log")" "$((before + 1))" \
    "access lines after one more request"
line=$(tail -n 1 "$log")
note "$line"
check_match "$line" '(^| )127\.0\.0\.1([: ]|$)' "client address"
check_match "$line" '"GET /v2/ HTTP/1\.1" 200 ' "request and status"
check_match "$line" '" 200 2 [0-9]+(\.[0-9]+)?$' "bytes and duration"

http GET "$URL/v2/no/such/thing/at/all" -H 'User-Agent: regress'
check_eq "$STATUS" 404 "unknown path"
size=$(stat -c %s "$BODY")
line=$(wait_line "$log" '/v2/no/such/thing/at/all') ||
    fail "no access line for the 404"
note "$line"
check_match "$line" "\"GET /v2/no/such/thing/at/all HTTP/1\\.1\" 404 $size " \
    "404 line with the body size"

http HEAD "$URL/v2/?probe=1"
line=$(wait_line "$log" '"HEAD /v2/?probe=1 ') ||
    fail "no access line for the HEAD with a query"
note "$line"

# The duration grows with a slow request: a body trickled over a second.
upload_start log/test
path=${LOC#"$URL"}
python3 - "$PORT" "$path" <<'PYEOF' || fail "slow PATCH"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(("PATCH %s HTTP/1.1\r\nHost: x\r\n"
    "Content-Type: application/octet-stream\r\nContent-Length: 10\r\n"
    "Connection: close\r\n\r\n" % sys.argv[2]).encode())
for i in range(10):
    s.sendall(b"x")
    time.sleep(0.12)
while s.recv(4096):
    pass
PYEOF
line=$(wait_line "$log" "\"PATCH $path") || fail "no line for the slow PATCH"
note "$line"
dur=$(echo "$line" | awk '{ print $NF }')
awk -v d="$dur" 'BEGIN { exit !(d >= 1.0 && d < 10) }' ||
    fail "duration $dur of a 1.2 s request"

# Rotation: move the file away, SIGHUP, and a new file appears.
lines=$(wc -l < "$log")
mv "$log" "$log.0"
kill -HUP "$REGD_PID"
ok=0
for i in $(seq 1 50); do
	curl -s -o /dev/null "$URL/v2/after-rotation-$i"
	if [ -s "$log" ] && grep -q after-rotation "$log"; then
		ok=1
		break
	fi
	sleep 0.1
done
[ "$ok" -eq 1 ] || fail "no new access log at $log after SIGHUP"
note "new log after $i requests: $(head -n 1 "$log")"
# Requests made before the reopen finished may go to either file, but
# never to both, and nothing is lost.
sleep 0.3
n_old=$(grep -c after-rotation "$log.0")
n_new=$(grep -c after-rotation "$log")
check_eq "$((n_old + n_new))" "$i" "after-rotation lines in both files"
curl -s -o /dev/null "$URL/v2/final-line"
wait_line "$log" final-line > /dev/null || fail "final line not in the new file"
grep -q final-line "$log.0" && fail "final line went to the old file"
[ "$(grep -c . "$log.0")" -ge "$lines" ] || fail "the old file lost lines"
alive "$REGD_PID" || fail "regd died"
exit 0
