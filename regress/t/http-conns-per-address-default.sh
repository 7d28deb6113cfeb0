#!/bin/bash
# Without any configuration one client address may not fill every
# connection slot: 300 idle connections from 127.0.0.1 get 256 served
# (the default "max connections per address"), the rest are closed at
# once; another address is still served meanwhile.
. regress/lib.sh

regd_start
python3 - "$PORT" > "$T/py.out" 2>&1 <<'PYEOF'
import socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(300):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    held.append(s)
time.sleep(1)
alive = 0
for s in held:
    s.settimeout(0.2)
    try:
        s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        b = s.recv(4096)
        if b.startswith(b"HTTP/1.1 200"):
            alive += 1
    except OSError:
        pass
print("served", alive, flush=True)
o = socket.create_connection(("127.0.0.1", port), timeout=5,
    source_address=("127.0.0.2", 0))
o.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
print("other", o.recv(4096).split(b" ")[1].decode(), flush=True)
PYEOF
cat "$T/py.out" >&2
grep -q '^served 256$' "$T/py.out" || fail "not 256 connections served: $(head -n 1 "$T/py.out")"
grep -q '^other 200$' "$T/py.out" || fail "another address not served"
regd_stop
