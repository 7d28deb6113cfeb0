#!/bin/bash
#
# gc with "gc grace 0" while clients finish pushes: 4,000 old loose
# blobs make the run long, the layers and configs of 40 images are
# uploaded before it starts, and their manifests are put while it runs.
# A manifest put is refused (its layer was swept before) or its image
# pulls back complete afterwards: a blob a manifest names during the run
# is kept by the run's write barrier, whatever the marks said.

. ./regress/lib.sh

NIMG=40
regd_conf "gc grace 0"
V2=$T/storage/docker/registry/v2
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
regd_launch

REPO=gc/race
mtype=application/vnd.oci.image.manifest.v1+json
for i in $(seq 1 $NIMG); do
	printf '{"image":%d}' "$i" > "$T/c$i"
	make_blob $((200 + i)) "$T/l$i"
	push_blob "$REPO" "$T/c$i"
	push_blob "$REPO" "$T/l$i"
	jq -cn --arg c "$(sha "$T/c$i")" --argjson cs "$(stat -c %s "$T/c$i")" \
	    --arg l "$(sha "$T/l$i")" --argjson ls "$(stat -c %s "$T/l$i")" \
	    --arg mt "$mtype" \
	    '{ schemaVersion: 2, mediaType: $mt,
	    config: { mediaType: "application/vnd.oci.image.config.v1+json",
		digest: $c, size: $cs },
	    layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar",
		digest: $l, size: $ls } ] }' > "$T/m$i"
done

$REGCTL gc > "$T/gc.out" 2>&1 &
gcpid=$!
# The manifests, back to back on one connection, while gc runs.
python3 - "$PORT" "$REPO" "$T" "$NIMG" > "$T/puts" <<'PY' || fail "puts"
import http.client, sys, time
port, repo, t, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
time.sleep(0.05)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for i in range(1, n + 1):
    body = open("%s/m%d" % (t, i), "rb").read()
    c.request("PUT", "/v2/%s/manifests/t%d" % (repo, i), body=body,
        headers={"Content-Type":
        "application/vnd.oci.image.manifest.v1+json"})
    r = c.getresponse(); r.read()
    print(i, r.status)
PY
wait "$gcpid" || fail "gc: $(tail -3 "$T/gc.out")"
grep -q "^removed [1-9]" "$T/gc.out" || fail "gc swept nothing: $(tail -3 "$T/gc.out")"

accepted=0
while read -r i st; do
	case $st in
	201)	accepted=$((accepted + 1)) ;;
	400)	continue ;;
	*)	fail "manifest t$i: PUT $st" ;;
	esac
	for f in c l; do
		curl -sf -o "$T/got" "$URL/v2/$REPO/blobs/$(sha "$T/$f$i")" ||
		    fail "image t$i accepted during gc: blob $f gone"
		cmp -s "$T/got" "$T/$f$i" || fail "image t$i: blob $f differs"
	done
	http GET "$URL/v2/$REPO/manifests/t$i"
	[ "$STATUS" = 200 ] || fail "image t$i: manifest GET $STATUS"
done < "$T/puts"
[ "$accepted" -gt 0 ] || fail "no manifest accepted during the run"
note "$accepted of $NIMG manifests accepted during the run"
regd_stop
