#!/bin/bash
# Over TLS the frontend hands an answer to SSL_write at once, as plain
# HTTP writes it at once, instead of queueing it in the bufferevent and
# waiting for a writable event (which cost an epoll_ctl to add the event
# and one to delete it, per request).  200 manifest GETs on one keep-alive
# TLS connection make fewer than 0.25 epoll_ctl calls per request in the
# frontends (strace -c; it was 2).  And when the socket is full the rest
# of an answer still leaves through the bufferevent: 400 pipelined GETs
# of a 12 KB manifest (5 MB, more than a loopback socket's send buffer)
# from a client that reads nothing for a second all arrive whole, and one
# more request after them.
. regress/lib.sh
. regress/authlib.sh

[ "$REGD_ROOT" -eq 1 ] || skip "strace of the _regd frontends needs root"
command -v strace >/dev/null || fail "strace is missing (regress/deps.sh)"

tls_start
U=$URL
URL=$PLAIN
push_image lib/app latest
jq -c --arg pad "$(printf '%012000d' 0)" '.annotations = { pad: $pad }' \
    "$IMG_MANIFEST" > "$T/big"
push_manifest lib/app big "$T/big" application/vnd.oci.image.manifest.v1+json
URL=$U

python3 - "$TPORT" "$T/ca.crt" "$T/go" "$(sha "$T/big")" > "$T/py.out" 2>&1 <<'PYEOF' &
import hashlib, os, socket, ssl, sys, time
port, ca, go, digest = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)

def connect(rcvbuf=None):
    raw = socket.socket()
    if rcvbuf:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(20)
    raw.connect(("127.0.0.1", port))
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")

def wait_for(name):
    print("ready " + name, flush=True)
    for i in range(300):
        if os.path.exists(go + name):
            return
        time.sleep(0.1)
    raise SystemExit("no strace on " + name)

def answer(s, buf):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise SystemExit("EOF in a head")
        buf += d
    head, _, buf = buf.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    clen = 0
    for l in head.split(b"\r\n")[1:]:
        k, _, v = l.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v)
    while len(buf) < clen:
        d = s.recv(65536)
        if not d:
            raise SystemExit("EOF in a body")
        buf += d
    return status, buf[:clen], buf[clen:]

# Answers that fill the socket, then one more request.
wait_for("1")
s = connect(4096)
s.sendall(400 * (b"GET /v2/lib/app/manifests/big HTTP/1.1\r\nHost: x\r\n"
    b"Accept: application/vnd.oci.image.manifest.v1+json\r\n\r\n"))
time.sleep(1.0)
rest = b""
for i in range(400):
    st, body, rest = answer(s, rest)
    got = "sha256:" + hashlib.sha256(body).hexdigest()
    if st != 200 or got != digest:
        raise SystemExit("pipelined GET %d: status %d, %d bytes, %s" %
            (i, st, len(body), got))
print("400 pipelined answers of %d bytes" % len(body))
s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
st, body, rest = answer(s, rest)
if st != 200 or body != b"{}":
    raise SystemExit("after the pipelined answers: %d %r" % (st, body))
s.close()
print("and one more request after them", flush=True)

# Counted.
wait_for("2")
s = connect()
rest = b""
for i in range(200):
    s.sendall(b"GET /v2/lib/app/manifests/latest HTTP/1.1\r\nHost: x\r\n"
        b"Accept: application/vnd.oci.image.manifest.v1+json\r\n\r\n")
    st, body, rest = answer(s, rest)
    if st != 200:
        raise SystemExit("manifest GET %d: status %d" % (i, st))
s.close()
print("200 manifest GETs", flush=True)
PYEOF
py=$!

# strace_on NAME SYSCALLS: when python is ready for NAME, strace -c the
# frontends until strace_off.
strace_on()
{
	local n=0 p args=

	until grep -qs "^ready $1" "$T/py.out"; do
		alive "$py" || { wait "$py"; fail "python: $(cat "$T/py.out")"; }
		n=$((n + 1))
		[ $n -lt 300 ] || fail "python not ready: $(cat "$T/py.out")"
		sleep 0.1
	done
	for p in $(pids_titled frontend); do
		args="$args -p $p"
	done
	[ -n "$args" ] || fail "no frontend to trace"
	strace -f -c -e trace="$2" -o "$T/strace.$1" $args 2> "$T/strace.err" &
	st=$!
	n=0
	until [ "$(grep -c attached "$T/strace.err")" -ge \
	    "$(echo $args | wc -w | awk '{ print $1 / 2 }')" ]; do
		alive "$st" || fail "strace: $(cat "$T/strace.err")"
		n=$((n + 1))
		[ $n -lt 100 ] || fail "strace did not attach: $(cat "$T/strace.err")"
		sleep 0.1
	done
	touch "$T/go$1"
}

strace_off()
{
	until grep -qs "$1" "$T/py.out"; do
		alive "$py" || { wait "$py"; fail "python: $(cat "$T/py.out")"; }
		sleep 0.1
	done
	sleep 0.3
	kill -INT "$st"
	wait "$st"
	cat "$T/strace.$2" >&2
}

strace_on 1 write
strace_off 'after them' 1
strace_on 2 epoll_ctl,write
wait "$py" || fail "python: $(cat "$T/py.out")"
strace_off '200 manifest GETs' 2
cat "$T/py.out" >&2
# The frontend met a full socket: the bufferevent had the rest to write.
eagain=$(awk '$NF == "write" && NF == 6 { print $5 }' "$T/strace.1")
[ "${eagain:-0}" -gt 0 ] ||
    fail "no write met a full socket: the test did not test that"
ctl=$(awk '$NF == "epoll_ctl" { print $4 }' "$T/strace.2")
writes=$(awk '$NF == "write" { print $4 }' "$T/strace.2")
[ "${writes:-0}" -ge 200 ] || fail "strace saw ${writes:-0} writes for 200 answers"
[ "${ctl:-0}" -lt 50 ] ||
    fail "${ctl} epoll_ctl calls for 200 TLS manifest GETs (at most 49)"
note "200 TLS manifest GETs: ${ctl:-0} epoll_ctl, $writes writes"
regd_stop
