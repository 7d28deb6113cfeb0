#!/bin/bash
#
# regress/soak.sh: a bounded load test, run by "make soak" (not by "make
# test").  SOAK_SECONDS (default 300) of mixed traffic from SOAK_CLIENTS
# (default 16) clients, each owning a repository so that every answer
# has exactly one right value: image pushes (monolithic or chunked blob
# uploads and a tagged manifest), pulls checked against their digests,
# tag listings compared with what the client pushed, and deletes of
# tags, manifests and blobs.  regd's processes are sampled from /proc
# all along.  It fails unless there was no failed request, no digest
# mismatch, no process died, the descriptors of every process came back
# to what they were idle before the load, memory did not keep growing,
# and regctl fsck is clean.  A summary is printed either way.

cd "$(dirname "$0")/.." || exit 1
. regress/lib.sh

SECS=${SOAK_SECONDS:-300}
CLIENTS=${SOAK_CLIENTS:-16}

ulimit -n 8192 2>/dev/null
regd_start
sleep 1

python3 - "$PORT" "$REGD_PID" "$SECS" "$CLIENTS" <<'PYEOF'
import hashlib, http.client, json, os, random, sys, threading, time

port, regd, secs, nclients = int(sys.argv[1]), int(sys.argv[2]), \
    float(sys.argv[3]), int(sys.argv[4])
MT = "application/vnd.oci.image.manifest.v1+json"
lock = threading.Lock()
stats = {}
problems = []
stop = threading.Event()

def count(what, ok=True, detail=""):
    with lock:
        s = stats.setdefault(what, [0, 0])
        s[0 if ok else 1] += 1
        if not ok and len(problems) < 50:
            problems.append("%s: %s" % (what, detail))

def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()

def tree():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        if f[0] in "ZX":
            continue
        kids.setdefault(int(f[1]), []).append(int(d))
    out, q = [], [regd]
    while q:
        p = q.pop()
        out.append(p)
        q.extend(kids.get(p, []))
    return out

def sample():
    res = {}
    for p in tree():
        try:
            title = open("/proc/%d/cmdline" % p, "rb").read() \
                .split(b"\0")[0].decode()
            rss = 0
            for line in open("/proc/%d/status" % p):
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
            fds = len(os.listdir("/proc/%d/fd" % p))
        except OSError:
            continue
        res[p] = (title, rss, fds)
    return res

class Client:
    def __init__(self, n):
        self.n = n
        self.repo = "soak/c%d" % n
        self.tags = {}          # tag -> (manifest digest, layer digest)
        self.k = 0
        self.conn = http.client.HTTPConnection("127.0.0.1", port,
            timeout=60)

    def req(self, method, url, body=None, headers={}):
        for attempt in (1, 2):
            try:
                self.conn.request(method, url, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return r.status, r, data
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as e:
                # The server may close an idle keep-alive connection
                # just as a request goes out; only a second failure on
                # a fresh connection counts.
                self.conn.close()
                if attempt == 2:
                    return 0, None, str(e).encode()
            except Exception as e:
                self.conn.close()
                return 0, None, str(e).encode()

    def expect(self, what, got, want, data=b""):
        ok = got == want
        count(what, ok, "status %s want %s: %s" % (got, want, data[:200]))
        return ok

    def push_blob(self, data):
        d = sha(data)
        base = "/v2/%s/blobs/uploads/" % self.repo
        if random.random() < 0.5:
            st, r, b = self.req("POST", base + "?digest=" + d, data,
                {"Content-Type": "application/octet-stream"})
            return self.expect("blob push monolithic", st, 201, b) and d
        st, r, b = self.req("POST", base, b"", {"Content-Length": "0"})
        if not self.expect("blob upload start", st, 202, b):
            return None
        loc = r.getheader("Location")
        off = 0
        while off < len(data):
            n = random.randint(1, 200000)
            part = data[off:off + n]
            st, r, b = self.req("PATCH", loc, part, {
                "Content-Type": "application/octet-stream",
                "Content-Range": "%d-%d" % (off, off + len(part) - 1)})
            if not self.expect("blob upload patch", st, 202, b):
                return None
            loc = r.getheader("Location")
            off += len(part)
        sep = "&" if "?" in loc else "?"
        st, r, b = self.req("PUT", loc + sep + "digest=" + d, b"",
            {"Content-Length": "0"})
        return self.expect("blob push chunked", st, 201, b) and d

    def push(self):
        layer = os.urandom(random.randint(1, 512 * 1024))
        config = json.dumps({"architecture": "amd64", "os": "linux",
            "soak": [self.n, self.k, random.random()]}).encode()
        ld = self.push_blob(layer)
        cd = self.push_blob(config)
        if not ld or not cd:
            return
        man = json.dumps({"schemaVersion": 2, "mediaType": MT,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": cd, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": ld, "size": len(layer)}]}).encode()
        self.k += 1
        tag = "t%d" % self.k
        st, r, b = self.req("PUT", "/v2/%s/manifests/%s" % (self.repo, tag),
            man, {"Content-Type": MT})
        if self.expect("manifest push", st, 201, b):
            if r.getheader("Docker-Content-Digest") != sha(man):
                count("digest match", False, "PUT answered %s" %
                    r.getheader("Docker-Content-Digest"))
            self.tags[tag] = (sha(man), ld)

    def pull(self):
        if not self.tags:
            return
        tag = random.choice(list(self.tags))
        md, ld = self.tags[tag]
        st, r, b = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, tag),
            None, {"Accept": MT})
        if not self.expect("manifest pull", st, 200, b):
            return
        count("digest match", sha(b) == md and
            r.getheader("Docker-Content-Digest") == md,
            "manifest %s of %s" % (sha(b), tag))
        st, r, b = self.req("GET", "/v2/%s/blobs/%s" % (self.repo, ld))
        if self.expect("blob pull", st, 200, b):
            count("digest match", sha(b) == ld, "blob %s is %s" %
                (ld, sha(b)))

    def list(self):
        st, r, b = self.req("GET", "/v2/%s/tags/list" % self.repo)
        if not self.tags:
            self.expect("tags list (empty repository)", st in (200, 404),
                True, b)
            return
        if self.expect("tags list", st, 200, b):
            got = sorted(json.loads(b).get("tags") or [])
            count("tags list content", got == sorted(self.tags),
                "%s != %s" % (got, sorted(self.tags)))

    def delete(self):
        if not self.tags:
            return
        tag = random.choice(list(self.tags))
        md, ld = self.tags.pop(tag)
        how = random.choice(("tag", "digest"))
        ref = tag if how == "tag" else md
        st, r, b = self.req("DELETE", "/v2/%s/manifests/%s" %
            (self.repo, ref))
        self.expect("manifest delete by " + how, st, 202, b)
        st, r, b = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, tag),
            None, {"Accept": MT})
        self.expect("manifest gone after delete", st, 404, b)
        if random.random() < 0.5:
            st, r, b = self.req("DELETE", "/v2/%s/blobs/%s" %
                (self.repo, ld))
            self.expect("blob delete", st, 202, b)
            st, r, b = self.req("HEAD", "/v2/%s/blobs/%s" % (self.repo, ld))
            self.expect("blob gone after delete", st, 404, b)

    def run(self):
        while not stop.is_set():
            x = random.random()
            if len(self.tags) > 12 or (x < 0.15 and self.tags):
                self.delete()
            elif x < 0.5:
                self.push()
            elif x < 0.85:
                self.pull()
            else:
                self.list()
        self.conn.close()

idle0 = sample()
clients = [Client(i) for i in range(nclients)]
threads = [threading.Thread(target=c.run) for c in clients]
t0 = time.monotonic()
for t in threads:
    t.start()
samples = []
while time.monotonic() - t0 < secs:
    time.sleep(min(5, max(0.1, secs - (time.monotonic() - t0))))
    samples.append((time.monotonic() - t0, sample()))
stop.set()
for t in threads:
    t.join()
elapsed = time.monotonic() - t0
time.sleep(2)
idle1 = sample()

fail = []
total = sum(s[0] + s[1] for s in stats.values())
bad = sum(s[1] for s in stats.values())
print("soak: %d clients for %.0f s, %d checks (%.0f a second), %d failed"
    % (nclients, elapsed, total, total / elapsed, bad))
for k in sorted(stats):
    print("  %-32s %7d ok %5d failed" % (k, stats[k][0], stats[k][1]))
for p in problems:
    print("  problem: " + p)
if bad:
    fail.append("%d failed requests or checks" % bad)
mism = stats.get("digest match", [0, 0])[1]
print("digest mismatches: %d" % mism)
if set(idle0) != set(idle1):
    fail.append("processes changed: %s -> %s" % (sorted(idle0),
        sorted(idle1)))

# Warm-up is the first fifth of the run; growth after it is a leak.
warm = [s for t, s in samples if t >= elapsed / 5] or [samples[-1][1]]
print("%-8s %-16s %9s %9s %9s %6s %6s" % ("pid", "process",
    "rss0 KiB", "rss-warm", "rss-end", "fd0", "fd-end"))
for p in sorted(idle0):
    title, rss0, fd0 = idle0[p]
    if p not in idle1:
        continue
    _, rss1, fd1 = idle1[p]
    rw = warm[0].get(p, (title, rss1, fd1))[1]
    print("%-8d %-16s %9d %9d %9d %6d %6d" % (p, title, rss0, rw, rss1,
        fd0, fd1))
    if fd1 != fd0:
        fail.append("%s %d: %d descriptors idle before, %d after" %
            (title, p, fd0, fd1))
    if rss1 - rw > max(16384, rw // 4):
        fail.append("%s %d: RSS grew from %d to %d KiB after warm-up" %
            (title, p, rw, rss1))
if fail:
    for f in fail:
        print("FAIL: " + f)
    sys.exit(1)
print("soak: ok")
PYEOF
rc=$?
if ! $REGCTL fsck > "$T/fsck" 2>&1; then
	cat "$T/fsck"
	echo "FAIL: regctl fsck found problems"
	rc=1
else
	echo "$(tail -n 1 "$T/fsck")"
fi
regd_stop || rc=1
exit $rc
