#!/bin/bash
# Behind a trusted proxy, the forwarded address belongs to one request:
# a request on the same connection that is refused before its head parses
# is logged under the proxy's own address, not the previous request's
# X-Forwarded-For.
. regress/lib.sh

regd_conf "" "	trusted proxy 127.0.0.1"
regd_launch
log=$T/access.log

python3 - "$PORT" > "$T/answers" <<'PYEOF' || fail "raw client failed"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 127.0.0.9\r\n\r\n"
    b"GET /v2/ HTTP/1.1\r\nHost: x\r\nBad\x01Header: y\r\n\r\n")
data = b""
while True:
    try:
        b = s.recv(65536)
    except socket.timeout:
        break
    if not b:
        break
    data += b
import re
for m in re.finditer(rb"HTTP/1\.[01] [0-9]{3}", data):
    print(m.group(0).decode())
PYEOF
check_eq "$(sed -n 1p "$T/answers" | cut -d' ' -f2)" 200 "first request"
check_eq "$(sed -n 2p "$T/answers" | cut -d' ' -f2)" 400 "malformed request"
for i in $(seq 1 50); do
	grep -q '" 400 ' "$log" && break
	sleep 0.1
done
line=$(grep '" 400 ' "$log" | tail -n 1)
[ -n "$line" ] || fail "no access line for the 400"
note "$line"
grep '" 200 ' "$log" | grep -q '127\.0\.0\.9' ||
    fail "the forwarded address is not logged for the first request"
case $(echo "$line" | cut -d' ' -f2) in
127.0.0.9)
	fail "the refused request is logged under the previous forwarded address"
	;;
esac
check_eq "$(echo "$line" | cut -d' ' -f2)" 127.0.0.1 "address logged for the 400"
exit 0
