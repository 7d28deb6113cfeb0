#!/bin/bash
# An upstream that takes the connection and never answers: after the
# upstream's "timeout" the client gets the spec's 503 UNAVAILABLE, once
# (a timeout is not retried, unlike a refused connection), and the next
# pull of it asks again.
. regress/lib.sh

hport=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    print("accepted", flush=True)
' "$hport" > "$T/hung.log" 2>&1 &
HUNG=$!
trap 'st=$?; kill $HUNG 2>/dev/null; (exit $st); regd_cleanup' EXIT
# Listening (not connected to: that would count), however slow python
# starts on a loaded machine.
n=100
until [ -n "$(ss -Htln "sport = :$hport")" ]; do
	n=$((n - 1))
	[ $n -gt 0 ] || fail "the hung upstream does not listen"
	sleep 0.1
done

regd_start "upstream \"hung\" {
	url \"http://127.0.0.1:$hport\"
	timeout 2
}" '	mirror "hung"'
start=$(date +%s%N)
http GET "$URL/v2/lib/x/manifests/v1" --max-time 30
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_error 503 UNAVAILABLE
check_match "$(json_get '.errors[0].message')" 'timed out' "message"
note "answered after $ms ms"
[ "$ms" -ge 1500 ] && [ "$ms" -lt 6000 ] ||
    fail "a 2 s upstream timeout answered after $ms ms"
check_eq "$(grep -c accepted "$T/hung.log")" 1 "connections to the upstream"
http GET "$URL/v2/lib/x/manifests/v1" --max-time 30
expect_error 503 UNAVAILABLE
check_eq "$(grep -c accepted "$T/hung.log")" 2 "connections after a second pull"
regd_stop
