#!/bin/bash
#
# On a prepared tree, "regctl gc -n" lists exactly the blobs no manifest
# references (a loose upload, the blobs of a manifest deleted by digest)
# with their sizes, and removes nothing.  With --untagged, manifests
# reachable only as the child of a tagged index or as a referrer of a
# tagged image stay, while an untagged manifest no tag reaches goes with
# the blobs only it referenced.  A real gc then removes just what its dry
# run listed, and everything kept still pulls.  A manifest gc cannot
# parse stops it before anything is removed.

. ./regress/lib.sh

regd_start 'gc grace 0'

mtype=application/vnd.oci.image.manifest.v1+json
itype=application/vnd.oci.image.index.v1+json
n=0

# img REPO NAME [TAG]: an image with its own config and layer, pushed
# under TAG or by digest.  Sets D_NAME, S_NAME (manifest digest and
# size), B_NAME (its config and layer digests) and Z_NAME (their sizes).
img()
{
	local d=$T/img.$2 ref

	mkdir -p "$d"
	n=$((n + 1))
	printf '{"architecture":"amd64","os":"linux","n":%d}' $n > "$d/config"
	make_blob $((500 + n * 37)) "$d/layer"
	push_blob "$1" "$d/config"
	push_blob "$1" "$d/layer"
	jq -cn --arg c "$(sha "$d/config")" --argjson cs "$(stat -c %s "$d/config")" \
	    --arg l "$(sha "$d/layer")" --argjson ls "$(stat -c %s "$d/layer")" \
	    --arg mt "$mtype" '{ schemaVersion: 2, mediaType: $mt,
		config: { mediaType: "application/vnd.oci.image.config.v1+json",
		    digest: $c, size: $cs },
		layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar",
		    digest: $l, size: $ls } ] }' > "$d/manifest"
	ref=${3:-$(sha "$d/manifest")}
	push_manifest "$1" "$ref" "$d/manifest" "$mtype"
	eval "D_$2=$(sha "$d/manifest") S_$2=$(stat -c %s "$d/manifest")"
	eval "B_$2='$(sha "$d/config") $(sha "$d/layer")'"
	eval "Z_$2=$(( $(stat -c %s "$d/config") + $(stat -c %s "$d/layer") ))"
}

# The tree: lib/a has a tagged image, an index tagged "multi" of two
# images pushed by digest, a referrer (by digest) of the tagged image, an
# image pushed by digest that nothing reaches, an image deleted by digest
# and a loose blob.  lib/b shares the tagged image's layer.
img lib/a tagged v1
img lib/a child1
img lib/a child2
jq -cn --arg mt "$itype" --arg m "$mtype" --arg d1 "$D_child1" \
    --argjson s1 "$S_child1" --arg d2 "$D_child2" --argjson s2 "$S_child2" \
    '{ schemaVersion: 2, mediaType: $mt, manifests: [
	{ mediaType: $m, digest: $d1, size: $s1,
	  platform: { architecture: "amd64", os: "linux" } },
	{ mediaType: $m, digest: $d2, size: $s2,
	  platform: { architecture: "arm64", os: "linux" } } ] }' > "$T/index"
push_manifest lib/a multi "$T/index" "$itype"
D_index=$(sha "$T/index")
printf '{}' > "$T/empty"
push_blob lib/a "$T/empty"
make_blob 321 "$T/sig"
push_blob lib/a "$T/sig"
jq -cn --arg mt "$mtype" --arg e "$(sha "$T/empty")" --arg s "$(sha "$T/sig")" \
    --arg subj "$D_tagged" --argjson ss "$S_tagged" '{ schemaVersion: 2,
	mediaType: $mt, artifactType: "application/vnd.example.sig",
	config: { mediaType: "application/vnd.oci.empty.v1+json",
	    digest: $e, size: 2 },
	layers: [ { mediaType: "application/octet-stream", digest: $s,
	    size: 321 } ],
	subject: { mediaType: $mt, digest: $subj, size: $ss } }' > "$T/ref"
push_manifest lib/a "$(sha "$T/ref")" "$T/ref" "$mtype"
D_ref=$(sha "$T/ref")
img lib/a orphan
img lib/a deleted v-del
http DELETE "$URL/v2/lib/a/manifests/$D_deleted"
check_eq "$STATUS" 202 "DELETE of a manifest by digest"
make_blob 4321 "$T/loose"
push_blob lib/a "$T/loose"
http POST "$URL/v2/lib/b/blobs/uploads/?mount=${B_tagged#* }&from=lib/a" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "mount of the tagged image's layer into lib/b"

blobs_on_disk()
{
	find "$T/storage/docker/registry/v2/blobs" -name data | awk -F/ \
	    '{ print $(NF-3) ":" $(NF-1) }' | sort
}
before=$(blobs_on_disk)

# Plain gc: the deleted image's manifest, config and layer, the loose blob.
want=$(printf '%s\n' "$D_deleted $S_deleted" \
    "$(sha "$T/loose") 4321" \
    "${B_deleted%% *} $(stat -c %s "$T/img.deleted/config")" \
    "${B_deleted#* } $(stat -c %s "$T/img.deleted/layer")" | sort)
$REGCTL gc -n > "$T/dry" || fail "regctl gc -n failed: $(cat "$T/dry")"
got=$(awk '$1 == "blob" { print $2, $3 }' "$T/dry" | sort)
check_eq "$got" "$want" "blobs listed by gc -n"
grep -q "^dry run: 4 blobs, $(echo "$want" | awk '{ s += $2 } END { print s }') bytes" \
    "$T/dry" || fail "dry run summary: $(tail -1 "$T/dry")"
grep -q '^manifest' "$T/dry" && fail "gc -n without --untagged lists manifests"
check_eq "$(blobs_on_disk)" "$before" "blobs on disk after a dry run"

# --untagged: the orphan goes too, nothing of the index or the referrer.
$REGCTL gc -n --untagged > "$T/dryu" || fail "regctl gc -n --untagged failed"
check_eq "$(awk '$1 == "manifest" { print $2 }' "$T/dryu")" \
    "lib/a@$D_orphan" "manifests listed by gc -n --untagged"
wantu=$(printf '%s\n' "$want" "$D_orphan $S_orphan" \
    "${B_orphan%% *} $(stat -c %s "$T/img.orphan/config")" \
    "${B_orphan#* } $(stat -c %s "$T/img.orphan/layer")" | sort)
check_eq "$(awk '$1 == "blob" { print $2, $3 }' "$T/dryu" | sort)" "$wantu" \
    "blobs listed by gc -n --untagged"
check_eq "$(blobs_on_disk)" "$before" "blobs on disk after a dry run"

# The real thing removes exactly what its dry run listed.
$REGCTL gc --untagged > "$T/real" || fail "regctl gc --untagged failed"
check_eq "$(awk '$1 == "blob" { print $2, $3 }' "$T/real" | sort)" "$wantu" \
    "blobs removed by gc --untagged"
check_eq "$(blobs_on_disk)" \
    "$(comm -23 <(echo "$before") <(echo "$wantu" | cut -d' ' -f1))" \
    "blobs left on disk"
for d in "$D_tagged" "$D_index" "$D_child1" "$D_child2" "$D_ref"; do
	http GET "$URL/v2/lib/a/manifests/$d"
	check_eq "$STATUS" 200 "manifest $d after gc"
done
for d in $B_tagged $B_child1 $B_child2 "$(sha "$T/sig")"; do
	http GET "$URL/v2/lib/a/blobs/$d"
	check_eq "$STATUS" 200 "blob $d after gc"
	check_eq "$(sha "$BODY")" "$d" "content of blob $d"
done
http GET "$URL/v2/lib/b/blobs/${B_tagged#* }"
check_eq "$STATUS" 200 "the layer mounted into lib/b"
for d in "$D_orphan" "$D_deleted"; do
	http GET "$URL/v2/lib/a/manifests/$d"
	check_eq "$STATUS" 404 "manifest $d after gc"
done
for d in "$(sha "$T/loose")" $B_orphan; do
	http HEAD "$URL/v2/lib/a/blobs/$d"
	check_eq "$STATUS" 404 "swept blob $d (its layer link must go too)"
done
http GET "$URL/v2/lib/a/referrers/$D_tagged"
check_eq "$(json_get '.manifests[].digest')" "$D_ref" "referrers after gc"

# Nothing more to collect.
$REGCTL gc -n --untagged > "$T/again"
check_eq "$(tail -1 "$T/again")" "dry run: 0 blobs, 0 bytes would be freed" \
    "a second dry run"

# A manifest gc cannot parse might reference anything: gc fails and
# removes nothing (Distribution's garbage-collect stops the same way).
make_blob 999 "$T/loose2"
push_blob lib/a "$T/loose2"
hex=${D_tagged#sha256:}
printf 'not json' > "$T/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
before=$(blobs_on_disk)
$REGCTL gc > "$T/broken"
check_eq "$?" 1 "gc exit status with an unreadable manifest"
grep -q "^error: manifest lib/a@$D_tagged: not a JSON manifest" "$T/broken" ||
    fail "gc with an unreadable manifest: $(cat "$T/broken")"
grep -q '^blob ' "$T/broken" && fail "gc removed blobs: $(cat "$T/broken")"
check_eq "$(blobs_on_disk)" "$before" "blobs on disk after the failed gc"
