#!/bin/bash
# Under a hard descriptor limit of 128, 200 clients each open a
# connection and ask for a 4 MB blob they do not read (every connection
# then holds its socket and the blob's descriptor).  The frontends keep a
# reserve of descriptors: they take only as many connections as the limit
# allows (the rest wait in the listen queue), storage's descriptors always
# arrive whole, no frontend dies (same pids), and once the clients are
# gone everything is answered again.
. regress/lib.sh

command -v prlimit >/dev/null || skip "no prlimit"
regd_conf "" "	max connections per address 1000"
REGD_WRAP="prlimit --nofile=128:128" regd_launch
make_blob 4000000 "$T/big"
push_blob lib/big "$T/big"
d=$(sha "$T/big")
fronts=$(pids_titled frontend | sort | tr '\n' ' ')

python3 - "$PORT" "$d" > "$T/py.out" 2>&1 <<'PYEOF'
import socket, sys, time
port, digest = int(sys.argv[1]), sys.argv[2]
req = ("GET /v2/lib/big/blobs/%s HTTP/1.1\r\nHost: x\r\n\r\n" % digest).encode()
held = []
for i in range(200):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(req)
    held.append(s)
time.sleep(3)
started = 0
for s in held:
    s.settimeout(0.05)
    try:
        if s.recv(64).startswith(b"HTTP/1.1 200"):
            started += 1
    except OSError:
        pass
print("started", started, flush=True)
for s in held:
    s.close()
PYEOF
cat "$T/py.out" >&2
grep -q '^started [1-9]' "$T/py.out" || fail "no blob GET was answered"
sleep 1
check_eq "$(pids_titled frontend | sort | tr '\n' ' ')" "$fronts" \
    "frontend pids after running short of descriptors"
for i in $(seq 1 20); do
	curl -sf -o "$T/got" --max-time 10 "$URL/v2/lib/big/blobs/$d" ||
	    fail "GET $i after the clients left"
done
cmp -s "$T/got" "$T/big" || fail "blob differs"
grep -q 'descriptors allow' "$T/regd.log" ||
    fail "the clamp of max connections was not logged"
regd_stop
