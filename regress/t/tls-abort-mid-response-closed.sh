#!/bin/bash
# TLS clients that go away in the middle of a large blob GET, with a
# reset (SO_LINGER 0) or a FIN without close_notify, leave no connection
# behind: the frontends' open connections fall back to zero at once (not
# after a timeout), and after a reload the old frontends drain and exit.
. regress/lib.sh
. regress/authlib.sh

tls_start
URL=$PLAIN
make_blob 20000000 "$T/big"
push_blob lib/big "$T/big"
d=$(sha "$T/big")

open_conns()
{
	$REGCTL show status | awk '/^total:/ { print $(NF - 2) }'
}

python3 - "$TPORT" "$d" "$T/ca.crt" > "$T/py.out" 2>&1 <<'PYEOF' ||
import socket, ssl, struct, sys
port, digest, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
held = []
for i in range(40):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(("GET /v2/lib/big/blobs/%s HTTP/1.1\r\nHost: x\r\n\r\n"
        % digest).encode())
    got = 0
    while got < 300000:
        got += len(s.recv(65536))
    held.append(s)
for i, s in enumerate(held):
    if i % 2 == 0:
        # A reset.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
            struct.pack("ii", 1, 0))
        s.close()
    else:
        # A FIN without close_notify (the ssl module sends none here).
        s.shutdown(socket.SHUT_RDWR)
        s.close()
print("aborted", len(held))
PYEOF
    fail "python: $(cat "$T/py.out")"
cat "$T/py.out" >&2
n=0
while [ "$(open_conns)" != 0 ]; do
	n=$((n + 1))
	[ $n -lt 50 ] || fail "$(open_conns) connections still open 5 s after 40 TLS clients aborted"
	sleep 0.1
done
note "connections back to zero after $((n * 100)) ms"

# A reload: the old frontends drain and leave.
old=$(pids_titled frontend)
kill -HUP "$REGD_PID"
regd_wait_gone 10 $old || fail "old frontends still there 10 s after a reload"
curl -sf -o /dev/null --cacert "$T/ca.crt" "https://127.0.0.1:$TPORT/v2/" ||
    fail "no answer after the reload"
regd_stop
