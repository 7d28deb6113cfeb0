#!/bin/bash
# A client that sends half a header and stalls is dropped after the header
# timeout (2 s here); meanwhile other clients are served at once.
. regress/lib.sh

regd_start "" "	connection { header timeout 2 }"

# Twenty stalled clients, more than the frontends (two) to tie up.
python3 - "$PORT" 20 > "$T/slow.out" 2>&1 <<'PYEOF' &
import socket, sys, time, select
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
t0 = time.monotonic()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    socks.append(s)
closed = {}
while len(closed) < n and time.monotonic() - t0 < 15:
    r, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.5)
    for s in r:
        try:
            b = s.recv(4096)
        except OSError:
            b = b""
        if not b:
            closed[s] = time.monotonic() - t0
for s in socks:
    print("%.2f" % closed[s] if s in closed else "open")
PYEOF
slow=$!
sleep 0.3

# While they stall, others get quick answers.
worst=0
for i in $(seq 1 20); do
	t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 \
	    "$URL/v2/")
	check_eq "${t% *}" 200 "GET /v2/ while clients stall"
	worst=$(awk -v a="$worst" -v b="${t#* }" 'BEGIN { print (b > a) ? b : a }')
	sleep 0.05
done
note "slowest GET /v2/ while stalled: ${worst}s"
awk -v w="$worst" 'BEGIN { exit !(w < 0.5) }' ||
    fail "a GET /v2/ took ${worst}s while clients stalled"

wait "$slow"
note "stalled clients closed after: $(tr '\n' ' ' < "$T/slow.out")"
grep -q open "$T/slow.out" && fail "some stalled clients were never dropped"
check_eq "$(wc -l < "$T/slow.out")" 20 "stalled clients reported"
awk '$1 < 1.5 || $1 > 4.5 { bad = 1 } END { exit bad }' "$T/slow.out" ||
    fail "stalled clients not dropped between 1.5 and 4.5 s"

# A client trickling a byte a second is still dropped: the timeout is
# for the whole header, not for each read.
python3 - "$PORT" > "$T/trickle.out" 2>&1 <<'PYEOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.monotonic()
s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Trickle: ")
s.settimeout(0.5)
while time.monotonic() - t0 < 10:
    try:
        s.sendall(b"a")
    except OSError:
        break
    try:
        b = s.recv(4096)
        if not b:
            break
    except socket.timeout:
        pass
    except OSError:
        break
print("%.2f" % (time.monotonic() - t0))
PYEOF
note "trickling client dropped after $(cat "$T/trickle.out") s"
awk '$1 > 4.5 { exit 1 }' "$T/trickle.out" ||
    fail "a trickling client kept its connection past the header timeout"

http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ afterwards"
exit 0
