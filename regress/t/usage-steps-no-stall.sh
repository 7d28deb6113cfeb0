#!/bin/bash
# regress: long 60
#
# "regctl show usage" runs in steps between requests: with 10000
# repositories, a tag list sent while usage counts answers before the
# report does, and the report is still complete and right.

. ./regress/lib.sh

regd_conf
python3 - "$T/storage" <<'PYEOF' || fail "cannot seed the tree"
import hashlib, os, sys
v2 = os.path.join(sys.argv[1], "docker/registry/v2")
data = b"one shared layer"
hx = hashlib.sha256(data).hexdigest()
d = os.path.join(v2, "blobs/sha256", hx[:2], hx)
os.makedirs(d)
open(os.path.join(d, "data"), "wb").write(data)
for i in range(10000):
    l = os.path.join(v2, "repositories/u/r%05d/_layers/sha256" % i, hx)
    os.makedirs(l)
    open(os.path.join(l, "link"), "w").write("sha256:" + hx)
PYEOF
[ "$REGD_ROOT" -eq 1 ] && chown -R _regd "$T/storage"
regd_launch

python3 - "$PORT" "$REGCTL_BIN" "$T/regd.sock" "$T/usage" <<'PYEOF' ||
import http.client, subprocess, sys, threading, time
port, regctl, sock, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], \
    sys.argv[4]
done = {}
def usage():
    with open(out, "w") as f:
        rc = subprocess.call([regctl, "-s", sock, "show", "usage"],
            stdout=f)
    done["usage"] = (time.monotonic(), rc)
def tags():
    # Tag lists one after another from 50 ms on, while usage runs: on a
    # main thread that walked it all at once, none sent after usage
    # began could answer before usage did.
    time.sleep(0.05)
    c = http.client.HTTPConnection("127.0.0.1", port)
    done["tags"] = []
    while "usage" not in done:
        c.request("GET", "/v2/u/r00001/tags/list")
        r = c.getresponse(); r.read()
        done["tags"].append(time.monotonic())
        time.sleep(0.02)
a = threading.Thread(target=usage); b = threading.Thread(target=tags)
a.start(); b.start(); a.join(); b.join()
before = [t for t in done["tags"] if t < done["usage"][0]]
print("%d tag lists answered while usage counted" % len(before),
    file=sys.stderr)
assert done["usage"][1] == 0, "show usage failed"
assert len(before) > 0, "no tag list answered while usage counted"
PYEOF
    fail "show usage held up a request"
check_eq "$(grep -c '^u/r' "$T/usage")" 10000 "repositories in the report"
grep -q '^u/r01234  *16  *0$' "$T/usage" ||
    fail "u/r01234: $(grep '^u/r01234' "$T/usage")"
grep -q '^total on disk: 16 bytes' "$T/usage" ||
    fail "total: $(tail -1 "$T/usage")"
regd_stop
exit 0
