#!/bin/bash
#
# The commit of a sha512 upload reads the whole upload again (the
# running hash is SHA-256 only); that read runs in a storage job while
# the request is parked, so storage's main thread goes on serving: a
# tag list sent while a 1 GiB sha512 upload commits answers before the
# commit does.  The commit still answers 201 and the blob is served;
# a wrong sha512 is still 400 after the same wait.

. ./regress/lib.sh

regd_start
make_blob 1000 "$T/cfg"
push_blob h/x "$T/cfg"

python3 - "$PORT" <<'PYEOF' || fail "sha512 commit stalled the main thread"
import hashlib, http.client, sys, threading, time
port = int(sys.argv[1])
size = 1 << 30
zero = b"\0" * (1 << 20)
h = hashlib.sha512()
for i in range(size >> 20):
    h.update(zero)
good = "sha512:" + h.hexdigest()
bad = "sha512:" + "0" * 128

def partial():
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("POST", "/v2/h/big/blobs/uploads/",
        headers={"Content-Length": "0"})
    r = c.getresponse(); r.read()
    loc = r.getheader("Location")
    def body():
        for i in range(size >> 20):
            yield zero
    c.request("PATCH", loc, body=body(), headers={
        "Content-Type": "application/octet-stream",
        "Content-Length": str(size)})
    r = c.getresponse(); r.read()
    assert r.status == 202, r.status
    return r.getheader("Location")

def race(loc, digest):
    done = {}
    def put():
        c = http.client.HTTPConnection("127.0.0.1", port)
        sep = "&" if "?" in loc else "?"
        c.request("PUT", loc + sep + "digest=" + digest,
            headers={"Content-Length": "0"})
        r = c.getresponse(); r.read()
        done["put"] = (time.monotonic(), r.status)
    def tags():
        time.sleep(0.3)
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("GET", "/v2/h/x/tags/list")
        r = c.getresponse(); r.read()
        done["tags"] = (time.monotonic(), r.status)
    a = threading.Thread(target=put); b = threading.Thread(target=tags)
    a.start(); b.start(); a.join(); b.join()
    print("commit %s answered %d ms after the tag list" % (digest[:12],
        (done["put"][0] - done["tags"][0]) * 1000), file=sys.stderr)
    assert done["tags"][1] == 404 or done["tags"][1] == 200
    assert done["tags"][0] < done["put"][0], "tag list waited for commit"
    return done["put"][1]

st = race(partial(), bad)
assert st == 400, "wrong sha512: %d" % st
st = race(partial(), good)
assert st == 201, "sha512 commit: %d" % st
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("HEAD", "/v2/h/big/blobs/" + good)
r = c.getresponse(); r.read()
assert r.status == 200 and r.getheader("Content-Length") == str(size), \
    (r.status, r.getheader("Content-Length"))
PYEOF
regd_stop
exit 0
