#!/bin/bash
#
# "max manifest size" holds for every body, chunked ones too: storage
# counts the bytes as they arrive and answers 413 as soon as a body
# passes the limit, without waiting for the rest, and the connection
# closes.  A Content-Length over the limit is refused before the body.
# The limit can be at most storage's own cap (64M); a chunked body over
# that cap is refused the same way.  Nothing of a refused body is kept.

. ./regress/lib.sh

# chunked REPO TAG MIB: send MIB MiB of a chunked manifest body, never
# its last chunk, and print "STATUS CLOSED" of the answer (or "none").
chunked()
{
	python3 - "$PORT" "$1" "$2" "$3" <<'PYEOF'
import socket, sys, time
port, repo, tag, mib = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.create_connection(("127.0.0.1", int(port)))
s.sendall(("PUT /v2/%s/manifests/%s HTTP/1.1\r\nHost: x\r\n"
    "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
    "Transfer-Encoding: chunked\r\n\r\n" % (repo, tag)).encode())
chunk = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
s.settimeout(0.001)
got = b""
for i in range(mib * 16):
    try:
        s.sendall(chunk)
    except OSError:
        break
    try:
        d = s.recv(65536)
        if d:
            got += d
            break
    except OSError:
        pass
s.settimeout(5)
t = time.monotonic()
closed = 0
while time.monotonic() - t < 5:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    except OSError:
        closed = 1	# reset: closed with our bytes unread
        break
    if not d:
        closed = 1
        break
    got += d
if not got:
    print("none")
else:
    print(got.split(b" ")[1].decode(), closed)
PYEOF
}

regd_start '' '	max manifest size 1M'
out=$(chunked c/x big 3)
check_eq "$out" "413 1" "chunked body over 1M: 413 before its end, closed"
http GET "$URL/v2/c/x/manifests/big"
check_eq "$STATUS" 404 "the refused manifest"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > "$T/big"
http PUT "$URL/v2/c/x/manifests/big2" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$T/big"
check_eq "$STATUS" 413 "Content-Length over 1M"
regd_stop

PORT=
regd_start '' '	max manifest size 64M'
out=$(chunked c/x huge 66)
check_eq "$out" "413 1" "chunked body over storage's 64M cap"
http GET "$URL/v2/c/x/manifests/huge"
check_eq "$STATUS" 404 "the refused manifest"
regd_stop
exit 0
