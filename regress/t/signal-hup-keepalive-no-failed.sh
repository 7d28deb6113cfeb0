#!/bin/bash
# Reloads while clients use keep-alive connections: a request that
# arrives on an idle kept-alive connection of a draining frontend is still
# answered (with "Connection: close"); no request fails.  Four clients
# loop over keep-alive connections for 12 s while a SIGHUP comes every
# second.
. regress/lib.sh

regd_start
push_image lib/ka v1

python3 - "$PORT" > "$T/py.out" 2>&1 <<'PYEOF' &
import http.client, sys, threading, time
port = int(sys.argv[1])
ok = [0]
bad = []
lock = threading.Lock()

def client():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    end = time.monotonic() + 12
    while time.monotonic() < end:
        try:
            c.request("GET", "/v2/lib/ka/tags/list")
            r = c.getresponse()
            r.read()
            if r.status != 200:
                raise Exception("status %d" % r.status)
            with lock:
                ok[0] += 1
        except Exception as e:
            with lock:
                bad.append(repr(e))
            c.close()
        time.sleep(0.03)
    c.close()

ts = [threading.Thread(target=client) for i in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("ok", ok[0], "failed", len(bad))
for b in bad[:10]:
    print(b)
PYEOF
py=$!
for i in $(seq 1 11); do
	sleep 1
	kill -HUP "$REGD_PID"
done
wait $py
cat "$T/py.out" >&2
grep -q '^ok [0-9]* failed 0$' "$T/py.out" ||
    fail "requests failed across reloads: $(head -n 1 "$T/py.out")"
n=$(awk '/^ok/ { print $2 }' "$T/py.out")
# That the clients went on through the reloads (about 1,500 requests on
# a quiet machine; a sanitized build under load made 166).
[ "$n" -ge 48 ] || fail "only $n requests served, fewer than 4 a second"
regd_stop
