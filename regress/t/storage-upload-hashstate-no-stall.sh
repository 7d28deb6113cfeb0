#!/bin/bash
# regress: long 30
#
# A write to a large partial upload never re-hashes it on storage's main
# thread: the SHA-256 state of a session stays with it (and is saved in
# its directory after every write), however many other sessions there
# are, and after a restart.  Here: a 1 GiB partial upload, 1100 other
# sessions written to, then a 1-byte PATCH to the large one while a tag
# list is timed; both answer fast, and the blob's digest comes out right.

. ./regress/lib.sh

regd_start 'max uploads 4096
max uploads per client 4096'
make_blob 1000 "$T/cfg"
push_blob h/x "$T/cfg"

python3 - "$PORT" "$T" <<'PYEOF' || fail "setup failed"
import http.client, sys
port, t = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/v2/h/big/blobs/uploads/", headers={"Content-Length": "0"})
r = c.getresponse(); r.read()
loc = r.getheader("Location")
zero = b"\0" * (1 << 20)
def body():
    for i in range(1024):
        yield zero
c.request("PATCH", loc, body=body(), headers={
    "Content-Type": "application/octet-stream",
    "Content-Length": str(1 << 30)})
r = c.getresponse(); r.read()
assert r.status == 202, r.status
open(t + "/loc", "w").write(r.getheader("Location"))
# Sessions that each had a write: each has a hash state.
for i in range(1100):
    c.request("POST", "/v2/h/many/blobs/uploads/",
        headers={"Content-Length": "0"})
    r = c.getresponse(); r.read()
    assert r.status == 202, (i, r.status)
    c.request("PATCH", r.getheader("Location"), body=b"y", headers={
        "Content-Type": "application/octet-stream"})
    r = c.getresponse(); r.read()
    assert r.status == 202, (i, r.status)
PYEOF

# one_byte: PATCH one byte to the large upload while listing tags; prints
# the two durations in ms.
one_byte()
{
	python3 - "$PORT" "$(cat "$T/loc")" <<'PYEOF'
import http.client, sys, threading, time
port, loc = int(sys.argv[1]), sys.argv[2]
res = {}
def patch():
    c = http.client.HTTPConnection("127.0.0.1", port)
    t = time.monotonic()
    c.request("PATCH", loc, body=b"x", headers={
        "Content-Type": "application/octet-stream"})
    r = c.getresponse(); r.read()
    res["patch"] = (time.monotonic() - t, r.status, r.getheader("Location"))
def tags():
    time.sleep(0.02)
    c = http.client.HTTPConnection("127.0.0.1", port)
    t = time.monotonic()
    c.request("GET", "/v2/h/x/tags/list")
    r = c.getresponse(); r.read()
    res["tags"] = (time.monotonic() - t, r.status)
a = threading.Thread(target=patch); b = threading.Thread(target=tags)
a.start(); b.start(); a.join(); b.join()
print(int(res["patch"][0] * 1000), int(res["tags"][0] * 1000),
    res["patch"][1], res["patch"][2])
PYEOF
}

read -r pms tms st loc <<< "$(one_byte)"
echo "1-byte PATCH ${pms} ms, tag list ${tms} ms" >&2
check_eq "$st" 202 "1-byte PATCH"
[ "$pms" -lt 300 ] || fail "1-byte PATCH took $pms ms"
[ "$tms" -lt 300 ] || fail "tag list waited $tms ms"
echo "$loc" > "$T/loc"

# After a restart the saved state is used.
regd_stop
PORT=$PORT regd_launch
read -r pms tms st loc <<< "$(one_byte)"
echo "after restart: 1-byte PATCH ${pms} ms, tag list ${tms} ms" >&2
check_eq "$st" 202 "1-byte PATCH after a restart"
[ "$pms" -lt 300 ] || fail "1-byte PATCH after a restart took $pms ms"

# The digest is still right: 1 GiB of zeros and "xx".
want=$( (head -c $((1 << 30)) /dev/zero; printf xx) | sha256sum | cut -d' ' -f1)
http PUT "$(add_query "$(loc_url "$loc")" "digest=sha256:$want")" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "the upload's digest"
regd_stop
exit 0
