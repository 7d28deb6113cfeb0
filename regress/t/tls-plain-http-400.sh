#!/bin/bash
#
# Plain HTTP sent to a TLS listener is answered with a plain "400 Bad
# Request" whose body says so (as nginx and Distribution do), not with a
# reset: curl http:// to the TLS port, and a raw DELETE (a method OpenSSL
# itself does not recognise) get it.  TLS on the same port still works.

. regress/lib.sh
. regress/authlib.sh

tls_start

http GET "http://127.0.0.1:$TPORT/v2/"
check_eq "$STATUS" 400 "plain GET to the TLS port"
grep -q "plain HTTP request sent to a TLS port" "$BODY" ||
    fail "400 body does not say why: $(head -c 300 "$BODY")"
check_match "$(hdr Content-Type)" "^application/json" "Content-Type"
jq -e '.errors[0].code' "$BODY" > /dev/null || fail "body is not JSON"

out=$(timeout 10 python3 - "$TPORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"DELETE /v2/x/manifests/y HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.decode(errors="replace").split("\r\n")[0])
PY
)
check_eq "$out" "HTTP/1.1 400 Bad Request" "raw plain DELETE to the TLS port"

http GET "https://127.0.0.1:$TPORT/v2/" --cacert "$T/ca.crt"
check_eq "$STATUS" 200 "GET /v2/ over TLS after plain requests"
exit 0
