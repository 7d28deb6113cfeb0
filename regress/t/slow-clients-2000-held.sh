#!/bin/bash
# 2,000 connections held open at once, half idle and half sending a
# request head one byte a second, do not stop normal clients: pushes and
# pulls go through while they are held.  Meanwhile the request line,
# header size, header count and manifest size limits still answer
# 414/431/431/413, and clients that ask for a large blob and never read
# it do not make the frontends' memory grow.  The crowd comes from one
# address: the per-address limit (256 by default) is raised for it.
. regress/lib.sh

NSLOW=${SLOW_CONNS:-2000}
HOLD=12

ulimit -n 16384 2>/dev/null || ulimit -n 8192 ||
    skip "cannot raise the descriptor limit"
regd_conf "prefork 2" "	max request line 1K
	max header size 4K
	max headers 20
	max manifest size 64K
	max connections per address 4000
	connection { max connections 3000  header timeout 60  idle timeout 60 }"
# regd_conf wrote "prefork 2" already; one is enough.
awk '!(/^prefork 2$/ && seen++)' "$T/regd.conf" > "$T/regd.conf.1" &&
    mv "$T/regd.conf.1" "$T/regd.conf"
regd_launch

rss_frontends()
{
	local p sum=0 kb

	for p in $(pids_titled frontend); do
		kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status")
		sum=$((sum + ${kb:-0}))
	done
	echo "$sum"
}

sockets_frontends()
{
	local p n=0

	for p in $(pids_titled frontend); do
		n=$((n + $(ls -l "/proc/$p/fd" 2>/dev/null | grep -c 'socket:')))
	done
	echo "$n"
}

# Something to pull, pushed before the crowd arrives.
make_blob $((32 * 1048576)) "$T/large"
push_blob slow/app "$T/large"
large=$(sha "$T/large")
push_image slow/app v1
rss0=$(rss_frontends)

python3 - "$PORT" "$NSLOW" "$HOLD" "$T/ready" > "$T/crowd.out" 2>&1 <<'PYEOF' &
import asyncio, sys, time

port, n, hold, ready = int(sys.argv[1]), int(sys.argv[2]), \
    float(sys.argv[3]), sys.argv[4]
head = b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: "

async def one(i, conns, sem):
    async with sem:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError as e:
            return
        conns.append((i, r, w))

async def main():
    conns = []
    sem = asyncio.Semaphore(100)
    await asyncio.gather(*(one(i, conns, sem) for i in range(n)))
    print("connected %d of %d" % (len(conns), n))
    open(ready, "w").write("%d\n" % len(conns))
    t0 = time.monotonic()
    sent = 0
    while time.monotonic() - t0 < hold:
        for i, r, w in conns:
            if i % 2 == 1:
                b = head[sent:sent + 1] if sent < len(head) else b"a"
                try:
                    w.write(b)
                except Exception:
                    pass
        sent += 1
        await asyncio.sleep(1)
    held = 0
    for i, r, w in conns:
        # Any answer (an error) or end of file means it was let go.
        try:
            await asyncio.wait_for(r.read(1), 0.01)
            closed = True
        except asyncio.TimeoutError:
            closed = False
        except Exception:
            closed = True
        if not closed and not w.is_closing():
            held += 1
    print("held %d of %d after %.0f s" % (held, len(conns), hold))
    for i, r, w in conns:
        w.close()

asyncio.run(main())
PYEOF
crowd=$!

n=300
while [ ! -s "$T/ready" ]; do
	n=$((n - 1))
	[ "$n" -gt 0 ] || fail "the slow clients did not connect: $(cat "$T/crowd.out")"
	alive "$crowd" || fail "the slow clients' program died: $(cat "$T/crowd.out")"
	sleep 0.1
done
check_eq "$(cat "$T/ready")" "$NSLOW" "slow connections made"
sleep 1
held=$(sockets_frontends)
note "sockets in the frontends with the crowd connected: $held"
[ "$held" -ge "$NSLOW" ] || fail "frontends hold $held sockets, want >= $NSLOW"

# Normal clients, while the crowd is held.
t0=$(date +%s.%N)
for i in 1 2 3 4 5; do
	make_blob $((200000 + i * 1000)) "$T/b$i"
	push_blob slow/app "$T/b$i"
	http GET "$URL/v2/slow/app/blobs/$(sha "$T/b$i")"
	check_eq "$STATUS" 200 "pull $i while the crowd is held"
	cmp -s "$BODY" "$T/b$i" || fail "pull $i differs"
done
push_image slow/app v2
check_manifest slow/app v2 "$IMG_MANIFEST" \
    application/vnd.oci.image.manifest.v1+json
http GET "$URL/v2/slow/app/tags/list"
check_eq "$STATUS" 200 "tags list while the crowd is held"
t1=$(date +%s.%N)
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
note "5 pushes and pulls, an image and a tag list took ${elapsed}s"
awk -v e="$elapsed" 'BEGIN { exit !(e < 8) }' ||
    fail "normal clients took ${elapsed}s while the crowd was held"

# The limits hold under the crowd.
raw_req "GET /v2/$(head -c 1100 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: x\r\n\r\n"
check_eq "$RAW_STATUS" 414 "request line over 1K"
raw_req "GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: $(head -c 5000 /dev/zero | tr '\0' b)\r\n\r\n"
check_eq "$RAW_STATUS" 431 "header bytes over 4K"
hdrs=
for i in $(seq 1 25); do
	hdrs="${hdrs}X-H$i: v\r\n"
done
raw_req "GET /v2/ HTTP/1.1\r\nHost: x\r\n${hdrs}\r\n"
check_eq "$RAW_STATUS" 431 "25 headers over a limit of 20"
jq -c --arg pad "$(head -c 70000 /dev/zero | tr '\0' p)" \
    '.annotations = {"pad": $pad}' "$IMG_MANIFEST" > "$T/bigman"
http PUT "$URL/v2/slow/app/manifests/big" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$T/bigman"
check_eq "$STATUS" 413 "manifest over 64K"

# Clients that ask for the 32 MiB blob and never read the answer.
python3 - "$PORT" "$large" 10 6 > "$T/stall.out" 2>&1 <<'PYEOF' &
import socket, sys, time
port, digest, n, secs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), \
    float(sys.argv[4])
socks = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(("GET /v2/slow/app/blobs/%s HTTP/1.1\r\nHost: x\r\n\r\n"
        % digest).encode())
    socks.append(s)
time.sleep(secs)
print("stalled %d readers for %.0f s" % (n, secs))
PYEOF
stall=$!
sleep 2
rss1=$(rss_frontends)
sleep 3
rss2=$(rss_frontends)
wait "$stall"
note "frontends' RSS: ${rss0} KiB before, ${rss1} and ${rss2} KiB with 10 stalled readers of 32 MiB and the crowd"
# Ten stalled 32 MiB answers would be 320 MiB if buffered; the crowd's
# 2,000 connections cost some memory of their own.
[ $((rss2 - rss0)) -lt 32768 ] ||
    fail "frontends grew by $((rss2 - rss0)) KiB with stalled readers"
[ $((rss2 - rss1)) -lt 8192 ] ||
    fail "frontends kept growing with stalled readers: $rss1 -> $rss2 KiB"

wait "$crowd"
note "$(tr '\n' ' ' < "$T/crowd.out")"
grep -q "^held $NSLOW of $NSLOW" "$T/crowd.out" ||
    fail "not every slow connection was held: $(cat "$T/crowd.out")"

http GET "$URL/v2/slow/app/blobs/$large"
check_eq "$STATUS" 200 "GET of the large blob afterwards"
cmp -s "$BODY" "$T/large" || fail "the large blob differs afterwards"
exit 0
