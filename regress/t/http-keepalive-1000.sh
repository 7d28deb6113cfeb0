#!/bin/bash
# 1000 sequential requests on one keep-alive connection are all answered
# on that one connection.
. regress/lib.sh

regd_start

: > "$T/curl.cfg"
for i in $(seq 1 1000); do
	printf 'url = "%s/v2/"\noutput = "/dev/null"\n' "$URL" >> "$T/curl.cfg"
done
t0=$(date +%s%N)
curl -s -K "$T/curl.cfg" -w '%{http_code} %{num_connects}\n' > "$T/res" ||
    fail "curl failed"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
note "1000 requests in $ms ms"
check_eq "$(wc -l < "$T/res")" 1000 "answers"
check_eq "$(awk '$1 != 200' "$T/res" | wc -l)" 0 "answers other than 200"
check_eq "$(awk '{ n += $2 } END { print n }' "$T/res")" 1 \
    "connections opened"

# The same with HTTP/1.0 keep-alive asked for explicitly.
python3 - "$PORT" <<'PYEOF' || fail "HTTP/1.0 keep-alive"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
f = s.makefile("rb")
for i in range(100):
    s.sendall(b"GET /v2/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    line = f.readline()
    assert line.split()[1] == b"200", line
    n = 0
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    assert f.read(n) == b"{}"
PYEOF
exit 0
