#!/bin/bash
#
# A PATCH with Transfer-Encoding: chunked whose chunks arrive in pieces,
# with pauses inside a chunk's data, inside size lines and before the last
# chunk, and chunks from 1 byte to 300 KB, is stored whole and answered at
# once: the frontend waits for the rest of a chunk it is inside of (to
# send storage fewer, bigger messages), never for bytes the client does
# not owe.

. ./regress/lib.sh

regd_start
make_blob 700001 "$T/blob"
d=$(sha "$T/blob")
upload_start lib/trickle

python3 - "$LOC" "$T/blob" > "$T/out" 2>&1 <<'PY' || fail "$(cat "$T/out")"
import socket
import sys
import time
import urllib.parse

u = urllib.parse.urlsplit(sys.argv[1])
data = open(sys.argv[2], "rb").read()
path = u.path + ("?" + u.query if u.query else "")
s = socket.create_connection((u.hostname, u.port), timeout=10)
s.sendall(("PATCH %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    "Content-Type: application/octet-stream\r\n\r\n" % path).encode())
sizes = [1, 3000, 300000, 70000, 5, 131072, 131073]
sizes.append(len(data) - sum(sizes))
off = 0
for i, n in enumerate(sizes):
    chunk = b"%x\r\n" % n + data[off:off + n] + b"\r\n"
    off += n
    # three pieces: inside the size line, inside the data, at its end
    cuts = [1, 2 + n // 2, len(chunk) - 1]
    prev = 0
    for c in cuts + [len(chunk)]:
        if c > prev:
            s.sendall(chunk[prev:c])
            time.sleep(0.05)
        prev = c
assert off == len(data)
time.sleep(0.2)
s.sendall(b"0\r\n\r\n")
t0 = time.time()
s.settimeout(5)
got = b""
while b"\r\n\r\n" not in got:
    b = s.recv(4096)
    if not b:
        break
    got += b
head = got.split(b"\r\n\r\n")[0].decode()
if not head.startswith("HTTP/1.1 202"):
    sys.exit("PATCH: %r" % head)
if "Range: 0-%d" % (len(data) - 1) not in head:
    sys.exit("PATCH Range: %r" % head)
if time.time() - t0 > 2:
    sys.exit("202 came %.1f s after the last chunk" % (time.time() - t0))
for l in head.split("\r\n"):
    if l.lower().startswith("location:"):
        print(l.split(":", 1)[1].strip())
PY
LOC=$(loc_url "$(tail -1 "$T/out")")
http PUT "$(add_query "$LOC" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "PUT after the trickled chunked PATCH"
http GET "$URL/v2/lib/trickle/blobs/$d"
check_eq "$STATUS" 200 "GET blob"
cmp -s "$BODY" "$T/blob" || fail "blob sent trickled differs"
exit 0
