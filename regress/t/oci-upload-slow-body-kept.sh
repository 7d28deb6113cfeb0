#!/bin/bash
# A monolithic upload whose body keeps moving, slower than a message's
# worth per body timeout (5 KB every 0.4 s against a 1 s timeout), is not
# cut: the frontend asks the kernel to wake it only when a message's
# worth is there (SO_RCVLOWAT), and a timeout with bytes waiting in the
# socket counts as progress.  A body that stops for longer than the
# timeout is still cut.
. regress/lib.sh

regd_start "" "	connection { body timeout 1 }"
make_blob 60000 "$T/blob"
d=$(sha "$T/blob")

# slow_post STOP: the body in 5 KB pieces; STOP seconds of silence after
# the first piece.  Prints the status line, or "closed".
slow_post()
{
	python3 - "$PORT" "$d" "$T/blob" "$1" <<'PY'
import socket
import sys
import time

port, digest, path, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3], \
    float(sys.argv[4])
data = open(path, "rb").read()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("POST /v2/lib/slow/blobs/uploads/?digest=%s HTTP/1.1\r\n"
    "Host: x\r\nContent-Type: application/octet-stream\r\n"
    "Content-Length: %d\r\n\r\n" % (digest, len(data))).encode())
try:
    for i in range(0, len(data), 5000):
        s.sendall(data[i:i + 5000])
        time.sleep(stop if i == 0 and stop > 0 else 0.4)
    got = s.recv(4096).decode("latin-1")
except OSError:
    got = ""
print(got.split("\r\n")[0] if got else "closed")
PY
}

out=$(slow_post 0)
case $out in
"HTTP/1.1 201 "*) ;;
*) fail "a slow but moving upload: $out" ;;
esac
http HEAD "$URL/v2/lib/slow/blobs/$d"
check_eq "$STATUS" 200 "the slow upload's blob"

make_blob 60000 "$T/blob"
d=$(sha "$T/blob")
out=$(slow_post 2.5)
case $out in
"HTTP/1.1 201 "*) fail "an upload silent for 2.5 s outlived a 1 s body timeout" ;;
esac
exit 0
