# "max connections per address 3": with three connections open from
# 127.0.0.1 (spread over the two frontends), a fourth is closed at once;
# when one of them closes, a new one is served again.
. regress/lib.sh
. regress/authlib.sh

regd_start "" '	max connections per address 3'
python3 - "$PORT" > "$T/py.out" 2>&1 <<'PYEOF'
import socket, sys, time
port = int(sys.argv[1])

def get(s):
    s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(3)
    got = b""
    try:
        while b"{}" not in got:
            b = s.recv(4096)
            if not b:
                return "closed"
            got += b
    except OSError as e:
        return "error %s" % e
    return got.split(b" ")[1].decode()

held = []
for i in range(3):
    s = socket.create_connection(("127.0.0.1", port))
    print("conn", i, get(s), flush=True)
    held.append(s)
s = socket.create_connection(("127.0.0.1", port))
print("fourth", get(s), flush=True)
s.close()
held.pop().close()
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port))
print("again", get(s), flush=True)
PYEOF
cat "$T/py.out" >&2
for i in 0 1 2; do
	grep -q "^conn $i 200$" "$T/py.out" || fail "connection $i not served"
done
grep -qE '^fourth (closed|error)' "$T/py.out" ||
    fail "the fourth connection was served"
grep -q '^again 200$' "$T/py.out" ||
    fail "no connection served after one closed"
regd_stop
