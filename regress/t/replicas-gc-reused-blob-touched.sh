#!/bin/bash
#
# Two regd on one shared store: a client of instance 2 finds an old,
# unreferenced blob already there (a HEAD, as docker does before it
# skips an upload) and then puts a manifest naming it.  Instance 1's GC
# runs in between; its write barrier never saw instance 2's use, and
# the blob's own mtime is older than the grace, so only the use written
# to the store (blob_touch: the blob's mtime here, a marker object on
# S3) keeps it.  The manifest PUT is then 201 and the image whole; a
# blob nobody used is still swept.  On the filesystem only: the test
# ages blobs by their files' mtimes.
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh

[ "${REGD_BACKEND:-fs}" = fs ] || skip "ages blobs through the filesystem"
replica_start 1 "gc grace 5"
replica_start 2 "gc grace 5"
REGCTL1="$REGCTL_BIN -s $T/r1/regd.sock"
v2=$T/storage/docker/registry/v2
mtype=application/vnd.oci.image.manifest.v1+json
URL=${RURL[2]}

printf '{"os":"linux","n":"touched"}' > "$T/config"
make_blob 3000 "$T/layer"
make_blob 3100 "$T/unused"
for f in config layer unused; do
	push_blob lib/reuse "$T/$f"
done
# Old: every blob an hour older than the grace.
for f in config layer unused; do
	h=$(sha "$T/$f" | cut -c8-)
	touch -d '-1 hour' "$v2/blobs/sha256/${h:0:2}/$h/data"
done
# A new instance 2 that remembers no use of them (its write barrier and
# its record of uses start empty, as on another host).
replica_stop 2
replica_start 2 "gc grace 5"
URL=${RURL[2]}

for f in config layer; do
	http HEAD "$URL/v2/lib/reuse/blobs/$(sha "$T/$f")"
	check_eq "$STATUS" 200 "HEAD $f on instance 2"
done
$REGCTL1 gc > "$T/gc.out" 2>&1 || fail "gc on instance 1: $(cat "$T/gc.out")"
note "$(tail -1 "$T/gc.out")"
grep -q "$(sha "$T/unused")" "$T/gc.out" ||
    fail "the blob nobody used was not swept: $(cat "$T/gc.out")"

jq -cn --arg c "$(sha "$T/config")" \
    --argjson cs "$(stat -c %s "$T/config")" \
    --arg l "$(sha "$T/layer")" --argjson ls "$(stat -c %s "$T/layer")" \
    --arg mt "$mtype" '{ schemaVersion: 2, mediaType: $mt,
    config: { mediaType: "application/vnd.oci.image.config.v1+json",
    digest: $c, size: $cs }, layers: [ { mediaType:
    "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls } ] }' \
    > "$T/manifest"
http PUT "$URL/v2/lib/reuse/manifests/v1" -H "Content-Type: $mtype" \
    --data-binary "@$T/manifest"
check_eq "$STATUS" 201 "manifest naming the reused blobs: $(cat "$BODY")"
for n in 1 2; do
	for f in config layer; do
		http GET "${RURL[$n]}/v2/lib/reuse/blobs/$(sha "$T/$f")"
		check_eq "$STATUS" 200 "blob $f on instance $n"
		cmp -s "$BODY" "$T/$f" || fail "blob $f on instance $n differs"
	done
done
exit 0
