#!/bin/bash
# 200 connections each ask for a big blob they do not read (the answer
# stays pending) and pipeline 1 MiB of further requests behind it.  The
# frontends must not take those bytes in while the answer is pending:
# their RSS grows by less than 40 MiB (it grew by ~150 MiB when each
# connection read 512 KiB ahead), and memory is given back once the
# clients are gone.
. regress/lib.sh

regd_start "" "	max connections per address 1000"
make_blob 20000000 "$T/big"
push_blob lib/big "$T/big"
d=$(sha "$T/big")

rss()
{
	local p n=0 v

	for p in $(pids_titled frontend); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status")
		n=$((n + ${v:-0}))
	done
	echo "$n"
}

before=$(rss)
mkfifo "$T/go"
python3 - "$PORT" "$d" "$T/go" > "$T/py.out" 2>&1 <<'PYEOF' &
import socket, sys, time
port, digest, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
first = ("GET /v2/lib/big/blobs/%s HTTP/1.1\r\nHost: x\r\n\r\n" % digest).encode()
more = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n" * (1048576 // 31)
conns = []
for i in range(200):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(first)
    s.setblocking(False)
    conns.append([s, memoryview(more)])
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    busy = 0
    for c in conns:
        if len(c[1]) == 0:
            continue
        try:
            n = c[0].send(c[1][:65536])
            c[1] = c[1][n:]
            busy += 1
        except BlockingIOError:
            pass
    if busy == 0:
        time.sleep(0.2)
sent = sum(1048576 - len(c[1]) for c in conns)
print("sent", sent, flush=True)
open(go, "r").read()
for c in conns:
    c[0].close()
PYEOF
py=$!
n=0
until grep -q '^sent' "$T/py.out"; do
	n=$((n + 1))
	[ $n -lt 300 ] || fail "the clients did not finish sending: $(cat "$T/py.out")"
	sleep 0.1
done
held=$(rss)
cat "$T/py.out" >&2
note "frontends' RSS: ${before} KiB before, ${held} KiB with 200 connections pipelining"
echo > "$T/go"
wait $py
[ $((held - before)) -lt 40960 ] ||
    fail "frontends grew by $(( (held - before) / 1024 )) MiB while answers were pending"
sleep 4
after=$(rss)
note "after the clients left: ${after} KiB"
[ $((after - before)) -lt 20480 ] ||
    fail "frontends kept $(( (after - before) / 1024 )) MiB after the clients left"
curl -sf -o /dev/null "$URL/v2/" || fail "no answer afterwards"
regd_stop
