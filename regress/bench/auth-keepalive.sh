#!/bin/bash
#
# regress/bench/auth-keepalive.sh [N]: not a test, a measurement.  Rate of
# N keep-alive GET /v2/<repo>/tags/list requests on one connection, over
# plain HTTP, without and with Basic authentication (bcrypt cost 10, so
# only the credentials cache makes the second rate close to the first).
# Prints both rates and their ratio; the issue asks for at least 80%.

cd "$(dirname "$0")/../.." || exit 1
. regress/lib.sh
. regress/authlib.sh

N=${1:-5000}

rate()
{
	python3 - "$PORT" "$N" "${1:-}" <<'PYEOF'
import base64, socket, sys, time
port, n, cred = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
auth = ""
if cred:
    auth = "Authorization: Basic %s\r\n" % base64.b64encode(cred.encode()).decode()
req = ("GET /v2/bench/tags/list HTTP/1.1\r\nHost: x\r\n%s\r\n" % auth).encode()
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = b""
def one():
    global buf
    s.sendall(req)
    while True:
        i = buf.find(b"\r\n\r\n")
        if i >= 0:
            head = buf[:i].decode()
            assert head.split(" ")[1] == "200", head
            cl = 0
            for h in head.split("\r\n")[1:]:
                k, _, v = h.partition(":")
                if k.lower() == "content-length":
                    cl = int(v)
            if len(buf) >= i + 4 + cl:
                buf = buf[i + 4 + cl:]
                return
        b = s.recv(65536)
        if not b:
            sys.exit("connection closed")
        buf += b
for _ in range(100):
    one()
t0 = time.monotonic()
for _ in range(n):
    one()
print("%.0f" % (n / (time.monotonic() - t0)))
PYEOF
}

htpasswd -Bbn -C 10 bench benchpass > "$T/htpasswd"
APORT=$(free_port)
regd_conf "server \"auth\" {
	listen on 127.0.0.1 port $APORT
	authenticate with \"$T/htpasswd\"
	allow pull from any
}"
regd_launch
push_image bench v1
# Both servers of one regd, measured in turn so that load from elsewhere
# on the machine falls on both alike; the medians are compared.
p= a=
for i in 1 2 3 4 5; do
	p="$p $(PORT=$PORT rate)" || fail "plain run"
	a="$a $(PORT=$APORT rate bench:benchpass)" || fail "auth run"
done
regd_stop
med()
{
	printf '%s\n' $1 | sort -n | sed -n 3p
}
plain=$(med "$p")
as_auth=$(med "$a")
echo "keep-alive GET tags/list, 5 x $N requests each: no auth$p/s" \
    "(median $plain), Basic auth$a/s (median $as_auth), ratio" \
    "$(awk -v a="$as_auth" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')"
