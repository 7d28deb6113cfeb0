#!/bin/bash
# regress: long 25
#
# gc with "gc grace 0" while clients finish pushes: 4,000 old loose
# blobs make the run long, the layers and configs of 40 images are
# uploaded before it starts, and their manifests are put while it runs.
# A manifest put is refused (its layer was swept before) or its image
# pulls back complete afterwards: a blob a manifest names during the run
# is kept by the run's write barrier, whatever the marks said.
# The client starts the gc itself, its connection open, and notes for
# each answer whether the gc still ran: a round where no manifest was
# accepted while it ran (a machine where gc outran the client) proves
# nothing and is done again, with new images (3 rounds at most).

. ./regress/lib.sh

NIMG=40
regd_conf "gc grace 0"
V2=$T/storage/docker/registry/v2
REPO=gc/race
mtype=application/vnd.oci.image.manifest.v1+json

# seed: 4,000 old loose blobs.
seed()
{
	python3 - "$V2" <<'PY' || fail "seeding"
import hashlib, os, sys, time
v2 = sys.argv[1]
old = time.time() - 7200
for i in range(4000):
    data = os.urandom(64)
    h = hashlib.sha256(data).hexdigest()
    d = os.path.join(v2, "blobs/sha256", h[:2], h)
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "data")
    with open(p, "wb") as f:
        f.write(data)
    os.utime(p, (old, old))
PY
	[ "$REGD_ROOT" -eq 1 ] && chown -R _regd "$T/storage"
}

# round R: seed, upload the blobs of NIMG images, then gc and their
# manifests; $T/puts.R: "I STATUS DURING" a line.
round()
{
	local r=$1 i

	seed
	for i in $(seq 1 $NIMG); do
		printf '{"image":%d,"round":%d}' "$i" "$r" > "$T/c$i"
		make_blob $((200 + i)) "$T/l$i"
		push_blob "$REPO" "$T/c$i"
		push_blob "$REPO" "$T/l$i"
		jq -cn --arg c "$(sha "$T/c$i")" \
		    --argjson cs "$(stat -c %s "$T/c$i")" \
		    --arg l "$(sha "$T/l$i")" \
		    --argjson ls "$(stat -c %s "$T/l$i")" --arg mt "$mtype" \
		    '{ schemaVersion: 2, mediaType: $mt,
		    config: { mediaType:
			"application/vnd.oci.image.config.v1+json",
			digest: $c, size: $cs },
		    layers: [ { mediaType:
			"application/vnd.oci.image.layer.v1.tar",
			digest: $l, size: $ls } ] }' > "$T/m$i"
	done
	# The manifests, back to back on one connection, while gc runs.
	python3 - "$PORT" "$REPO" "$T" "$NIMG" "$r" $REGCTL gc \
	    > "$T/puts.$r" <<'PY' || fail "puts"
import http.client, subprocess, sys
port, repo, t, n, r = int(sys.argv[1]), sys.argv[2], sys.argv[3], \
    int(sys.argv[4]), sys.argv[5]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
c.request("GET", "/v2/")
c.getresponse().read()
gc = subprocess.Popen(sys.argv[6:], stdout=open("%s/gc.%s" % (t, r), "w"),
    stderr=subprocess.STDOUT)
for i in range(1, n + 1):
    body = open("%s/m%d" % (t, i), "rb").read()
    c.request("PUT", "/v2/%s/manifests/r%s-%d" % (repo, r, i), body=body,
        headers={"Content-Type":
        "application/vnd.oci.image.manifest.v1+json"})
    res = c.getresponse(); res.read()
    print(i, res.status, int(gc.poll() is None))
if gc.wait() != 0:
    sys.exit("gc: exit %d" % gc.returncode)
PY
	grep -q "^removed [1-9]" "$T/gc.$r" ||
	    fail "gc swept nothing: $(tail -3 "$T/gc.$r")"
	# Each accepted image pulls back complete.
	accepted=0
	during=0
	while read -r i st running; do
		case $st in
		201)	accepted=$((accepted + 1))
			during=$((during + running)) ;;
		400)	continue ;;
		*)	fail "manifest r$r-$i: PUT $st" ;;
		esac
		for f in c l; do
			curl -sf -o "$T/got" "$URL/v2/$REPO/blobs/$(sha "$T/$f$i")" ||
			    fail "image r$r-$i accepted during gc: blob $f gone"
			cmp -s "$T/got" "$T/$f$i" ||
			    fail "image r$r-$i: blob $f differs"
		done
		http GET "$URL/v2/$REPO/manifests/r$r-$i"
		[ "$STATUS" = 200 ] || fail "image r$r-$i: manifest GET $STATUS"
	done < "$T/puts.$r"
	note "round $r: $accepted of $NIMG manifests accepted, $during answered while gc ran"
}

regd_launch
for r in 1 2 3; do
	round "$r"
	[ "$during" -gt 0 ] && break
done
[ "$during" -gt 0 ] || fail "no manifest accepted while gc ran, in 3 rounds"
regd_stop
