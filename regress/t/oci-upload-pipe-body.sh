#!/bin/bash
#
# A plain HTTP upload body of known length goes from the frontend to
# storage through a pipe (frontend.c body_pipe_open): storage holds the
# pipe's read end while the body comes.  A client that hangs up in the
# middle of such a body leaves no blob and no descriptor behind, in
# storage or in the frontends; a body followed at once by the next
# request on the same connection (more bytes than Content-Length in one
# send) stores exactly Content-Length bytes, and the next request is
# answered.

. ./regress/lib.sh

regd_start

storage=$(pids_titled storage)
[ -n "$storage" ] || fail "no storage process"

# pipes PID...: the pipe descriptors these processes hold.
pipes()
{
	local p n=0

	for p in "$@"; do
		n=$((n + $(ls -l "/proc/$p/fd" 2>/dev/null | grep -c 'pipe:')))
	done
	echo "$n"
}

# fds PID...: all their descriptors.
fds()
{
	local p n=0

	for p in "$@"; do
		n=$((n + $(ls "/proc/$p/fd" 2>/dev/null | wc -l)))
	done
	echo "$n"
}

fronts=$(pids_titled frontend)
[ -n "$fronts" ] || fail "no frontend process"
p0=$(pipes "$storage")
f0=$(fds "$storage")
ff0=$(fds $fronts)

make_blob 4194304 "$T/blob"
d=$(sha "$T/blob")
head -c 1048576 "$T/blob" > "$T/half"

# Send a POST ?digest= with the head and the first MiB of a 4 MiB body;
# write "sent" to $T/state, wait until $T/go exists, then hang up.
python3 - "$PORT" "$d" "$T" <<'PY' &
import os, socket, sys, time
port, d, t = sys.argv[1:4]
s = socket.create_connection(("127.0.0.1", int(port)))
s.sendall(("POST /v2/lib/pipe/blobs/uploads/?digest=%s HTTP/1.1\r\n"
    "Host: x\r\nContent-Type: application/octet-stream\r\n"
    "Content-Length: 4194304\r\n\r\n" % d).encode())
s.sendall(open(t + "/half", "rb").read())
open(t + "/state", "w").write("sent\n")
for i in range(100):
    if os.path.exists(t + "/go"):
        break
    time.sleep(0.1)
s.close()
PY
client=$!

wait_for "the client's first MiB" test -s "$T/state"
# Storage reads this body from a pipe it got from the frontend.
n=0
while [ "$(pipes "$storage")" -le "$p0" ]; do
	n=$((n + 1))
	[ $n -lt 50 ] || fail "storage holds no pipe during the upload" \
	    "($(pipes "$storage") pipes, $p0 before)"
	sleep 0.1
done
touch "$T/go"
wait "$client"

# Storage sees the abort: the pipe and every other descriptor go.
n=0
while [ "$(fds "$storage")" -ne "$f0" ] || [ "$(fds $fronts)" -ne "$ff0" ]
do
	n=$((n + 1))
	[ $n -lt 50 ] || fail "descriptors after the cut body: storage" \
	    "$(fds "$storage") (was $f0), frontends $(fds $fronts)" \
	    "(were $ff0)"
	sleep 0.1
done
http GET "$URL/v2/lib/pipe/blobs/$d"
check_eq "$STATUS" 404 "GET of the blob after the cut body"

# A body and, in the same send, the next request: the blob is exactly
# the body (its digest matches) and the next request gets its answer.
python3 - "$PORT" "$d" "$T/blob" > "$T/out" <<'PY' || fail "python3 client"
import socket, sys
port, d, fname = sys.argv[1:4]
data = open(fname, "rb").read()
s = socket.create_connection(("127.0.0.1", int(port)))
s.sendall(("POST /v2/lib/pipe/blobs/uploads/?digest=%s HTTP/1.1\r\n"
    "Host: x\r\nContent-Type: application/octet-stream\r\n"
    "Content-Length: %d\r\n\r\n" % (d, len(data))).encode() + data +
    b"GET /v2/lib/pipe/blobs/" + d.encode() +
    b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
heads = [l for l in out.split(b"\r\n") if l.startswith(b"HTTP/1.1 ")]
print(" ".join(h.split()[1].decode() for h in heads))
print(len(out))
PY
check_eq "$(sed -n 1p "$T/out")" "201 200" "statuses of the body and the next request"
http GET "$URL/v2/lib/pipe/blobs/$d"
check_eq "$STATUS" 200 "GET of the blob"
cmp -s "$BODY" "$T/blob" || fail "the stored blob differs from the body"
check_eq "$(fds "$storage")" "$f0" "storage's descriptors at the end"
exit 0
