# SIGHUP with a new certificate: new connections get the new one while a
# TLS connection in the middle of an upload finishes it on the old one.
. regress/lib.sh
. regress/authlib.sh

tls_start
make_blob 200000 "$T/blob"
d=$(sha "$T/blob")

python3 - "$TPORT" "$T/ca.crt" "$T/blob" "$d" "$T/go" > "$T/py.out" 2>&1 <<'PYEOF' &
import os, socket, ssl, sys, time
port, ca, blob, digest, go = sys.argv[1:6]
data = open(blob, "rb").read()
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))),
    server_hostname="127.0.0.1")
print("cn", dict(x[0] for x in s.getpeercert()["subject"])["commonName"])
s.sendall(("POST /v2/reload/blobs/uploads/?digest=%s HTTP/1.1\r\n"
    "Host: x\r\nContent-Type: application/octet-stream\r\n"
    "Content-Length: %d\r\n\r\n" % (digest, len(data))).encode())
s.sendall(data[:len(data) // 2])
print("half", flush=True)
t0 = time.time()
while not os.path.exists(go) and time.time() - t0 < 20:
    time.sleep(0.05)
s.sendall(data[len(data) // 2:])
got = b""
while b"\r\n\r\n" not in got:
    b = s.recv(4096)
    if not b:
        break
    got += b
print("status", got.split(b" ")[1].decode() if got else "none")
PYEOF
pypid=$!
n=0
while ! grep -q half "$T/py.out" 2>/dev/null; do
	n=$((n + 1))
	[ $n -lt 100 ] || fail "python client did not start: $(cat "$T/py.out")"
	sleep 0.1
done

# New certificate and key in the same files, then reload.
make_certs fresh
cp "$T/fresh.crt" "$T/server.crt"
cp "$T/fresh.key" "$T/server.key"
kill -HUP "$REGD_PID"
n=0
while :; do
	echo | timeout 5 openssl s_client -connect "127.0.0.1:$TPORT" \
	    -CAfile "$T/ca.crt" > "$T/sc.out" 2>&1
	grep -q '^subject=CN *= *fresh' "$T/sc.out" && break
	n=$((n + 1))
	[ $n -lt 50 ] || fail "new connections never got the new certificate: $(grep subject= "$T/sc.out")"
	sleep 0.1
done
touch "$T/go"
wait "$pypid"
grep -q '^cn server$' "$T/py.out" || fail "first certificate: $(cat "$T/py.out")"
grep -q '^status 201$' "$T/py.out" ||
    fail "upload across the reload: $(cat "$T/py.out")"
http GET "$URL/v2/reload/blobs/$d" --cacert "$T/ca.crt"
check_eq "$STATUS" 200 "blob uploaded across the reload"
cmp -s "$BODY" "$T/blob" || fail "blob differs"
regd_stop
