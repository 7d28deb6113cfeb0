#!/bin/bash
#
# regress/bench/stall.sh [-d seconds] [-n blobs] [-m MiB]: how long
# storage's main thread stalls other requests (issue #17).  A regd on a
# seeded tree (n loose 1 KiB blobs two hours old, so "regctl gc -n"
# marks them all at every run, and stall/app with one manifest and 100
# tags) answers GET /v2/stall/app/tags/list on one keep-alive connection
# for the given seconds, three times:
#   idle   nothing else
#   gc     "regctl gc -n" in a loop
#   upload a chunked upload of m MiB whose closing PUT (sha512, so
#          storage hashes it all again) lands in the window
# and prints, per load, the requests answered and the p50, p99 and max
# latency in ms.  Not part of make test: timing belongs to no test.

. ./regress/lib.sh

DUR=10
NBLOBS=10000
MIB=256
while getopts d:n:m: o; do
	case $o in
	d) DUR=$OPTARG ;;
	n) NBLOBS=$OPTARG ;;
	m) MIB=$OPTARG ;;
	*) echo "usage: stall.sh [-d seconds] [-n blobs] [-m MiB]" >&2
	   exit 2 ;;
	esac
done

regd_conf
V2=$T/storage/docker/registry/v2
python3 - "$V2" "$NBLOBS" <<'EOF' || fail "seeding"
import hashlib, os, sys, time
v2, n = sys.argv[1], int(sys.argv[2])
old = time.time() - 7200
for i in range(n):
    data = os.urandom(1024)
    h = hashlib.sha256(data).hexdigest()
    d = os.path.join(v2, "blobs/sha256", h[:2], h)
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "data")
    with open(p, "wb") as f:
        f.write(data)
    os.utime(p, (old, old))
EOF
[ "$REGD_ROOT" -eq 1 ] && chown -R _regd "$T/storage"
regd_launch

echo '{}' > "$T/cfg"
push_blob stall/app "$T/cfg"
jq -cn --arg c "$(sha "$T/cfg")" '{ schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: 3 }, layers: [] }' > "$T/m"
for i in $(seq 1 100); do
	push_manifest stall/app "t$i" "$T/m" \
	    application/vnd.oci.image.manifest.v1+json
done

# One keep-alive connection, requests back to back: latencies in ms.
measure()
{
	python3 - "$PORT" "$DUR" <<'EOF'
import http.client, sys, time
port, dur = int(sys.argv[1]), float(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
lat = []
end = time.monotonic() + dur
while time.monotonic() < end:
    t = time.monotonic()
    c.request("GET", "/v2/stall/app/tags/list")
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("status %d" % r.status)
    lat.append((time.monotonic() - t) * 1000)
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("%6d %8.2f %8.2f %8.2f" % (len(lat), pick(0.5), pick(0.99), lat[-1]))
EOF
}

# A chunked upload of MIB MiB in 8 MiB PATCHes, then the PUT with the
# sha512 digest; the PUT is sent about half-way through the window.
upload()
{
	python3 - "$PORT" "$MIB" "$DUR" <<'EOF'
import hashlib, http.client, os, sys, time
port, mib, dur = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
c.request("POST", "/v2/stall/big/blobs/uploads/")
r = c.getresponse(); r.read()
loc = r.getheader("Location")
h = hashlib.sha512()
chunk = os.urandom(8 << 20)
start = time.monotonic()
for i in range(mib // 8):
    h.update(chunk)
    c.request("PATCH", loc, body=chunk,
        headers={"Content-Type": "application/octet-stream"})
    r = c.getresponse(); r.read()
    if r.status != 202:
        sys.exit("PATCH: %d" % r.status)
    loc = r.getheader("Location")
wait = dur / 2 - (time.monotonic() - start)
if wait > 0:
    time.sleep(wait)
sep = "&" if "?" in loc else "?"
t = time.monotonic()
c.request("PUT", loc + sep + "digest=sha512:" + h.hexdigest())
r = c.getresponse(); r.read()
sys.stderr.write("upload: PUT %d after %.1f s, took %.0f ms\n" %
    (r.status, t - start, (time.monotonic() - t) * 1000))
EOF
}

echo "storage root $T/storage: $NBLOBS loose blobs, $(nproc) CPUs"
printf '%-8s %6s %8s %8s %8s\n' load reqs p50_ms p99_ms max_ms
printf '%-8s ' idle
measure

( while :; do $REGCTL gc -n > /dev/null 2>&1; done ) &
loop=$!
printf '%-8s ' gc
measure
kill "$loop"
wait "$loop" 2>/dev/null

upload 2> "$T/upload.out" &
up=$!
sleep 1
printf '%-8s ' upload
measure
wait "$up"
cat "$T/upload.out"
regd_stop
exit 0
