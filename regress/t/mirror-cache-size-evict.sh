#!/bin/bash
# An upstream's "cache size" is enforced: three images of ~10.4 KB each
# pulled through a mirror whose cache holds 25000 bytes (two of them),
# as a, b, a again, then c: b, the least recently pulled, is evicted
# (its tag and manifest gone from the store, pulled again from the
# upstream, which counts a second GET), a and c stay; after a GC, b's
# config blob is gone but its layer, which a locally pushed image uses
# too, is still there; regctl show mirror reports a cache size within
# the limit (the rule: evict the least recently pulled manifest while
# the bytes counted are over it, keeping the last one pulled), also
# after a restart.
. regress/lib.sh
. regress/mirrorlib.sh

mkdir -p "$T/up"
dreg_start "$T/up"
for i in a b c; do
	make_blob 10000 "$T/layer.$i"
done
declare -A dg cfg
for i in a b c; do
	up_image "lib/$i" 1 "$T/layer.$i"
	dg[$i]=$UP_DIGEST
	cfg[$i]=$UP_CONFIG
done

mirror_start "$DREG_URL" '	mirror "up" prefix "hub"' '	cache size 25000' \
    'gc grace 0'
# A local image with b's layer.
printf '{"architecture":"amd64","os":"linux"}' > "$T/lconfig"
push_blob local/x "$T/lconfig"
push_blob local/x "$T/layer.b"
jq -cn --arg c "$(sha "$T/lconfig")" --arg l "$(sha "$T/layer.b")" '{
	schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: {mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: 37}, layers: [{mediaType:
	    "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l,
	    size: 10000}]}' > "$T/lman"
push_manifest local/x v1 "$T/lman" application/vnd.oci.image.manifest.v1+json

pull()
{
	local d

	http GET "$URL/v2/hub/lib/$1/manifests/1" \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	check_eq "$STATUS" 200 "pull $1: manifest"
	check_eq "$(hdr Docker-Content-Digest)" "${dg[$1]}" "pull $1: digest"
	for d in $(jq -r '.config.digest, .layers[].digest' < "$BODY"); do
		curl -sf -o "$T/blob" "$URL/v2/hub/lib/$1/blobs/$d" ||
		    fail "pull $1: blob $d"
		check_eq "$(sha "$T/blob")" "$d" "pull $1: blob bytes"
	done
}
v2=$T/storage/docker/registry/v2
rev()
{
	echo "$v2/repositories/hub/lib/$1/_manifests/revisions/sha256/${dg[$1]#sha256:}/link"
}
blob()
{
	echo "$v2/blobs/sha256/${1:7:2}/${1#sha256:}/data"
}
ups_gets()
{
	grep -c "\"GET /v2/lib/$1/manifests/1 " "$T/dreg.log"
}

pull a
pull b
pull a
pull c
wait_for "b was not evicted" test ! -e "$(rev b)"
[ -e "$(rev a)" ] || fail "a, pulled again after b, was evicted"
[ -e "$(rev c)" ] || fail "c, the last pulled, was evicted"
[ -e "$v2/repositories/hub/lib/b/_manifests/tags/1" ] &&
    fail "b's tag is still there"
grep -q "evicted hub/lib/b@${dg[b]}" "$T/regd.log" ||
    fail "the eviction was not logged"

out=$($REGCTL show mirror) || fail "regctl show mirror: $out"
note "$out"
set -- $(echo "$out" | awk '$1 == "up"')
check_eq "$9" 25000 "cache limit shown"
[ "$8" -gt 0 ] && [ "$8" -le 25000 ] || fail "cache size $8 over 25000"
check_eq "${10}" 1 "evictions shown"

$REGCTL gc > "$T/gc.out" || fail "regctl gc: $(cat "$T/gc.out")"
[ -e "$(blob "${cfg[b]}")" ] && fail "b's config blob survived the GC"
[ -e "$(blob "$(sha "$T/layer.b")")" ] ||
    fail "b's layer, which local/x uses, was removed"
for i in a c; do
	[ -e "$(blob "${cfg[$i]}")" ] || fail "$i's config was removed"
	[ -e "$(blob "$(sha "$T/layer.$i")")" ] || fail "$i's layer was removed"
done
http GET "$URL/v2/local/x/blobs/$(sha "$T/layer.b")"
check_eq "$STATUS" 200 "the local image's layer"

check_eq "$(ups_gets b)" 1 "upstream GETs of b before the pull again"
pull b
check_eq "$(ups_gets b)" 2 "upstream GETs of b after the pull again"
check_eq "$(ups_gets a)" 1 "upstream GETs of a (cached)"

# The count and the pull times outlive a restart (the index note).
cached()
{
	$REGCTL show mirror | awk '$1 == "up" { print $8 }'
}
before=$(cached)
regd_stop
[ -s "$v2/_regd/mirrorcache.note" ] || fail "no cache index written"
mirror_start "$DREG_URL" '	mirror "up" prefix "hub"' '	cache size 25000' \
    'gc grace 0'
check_eq "$(cached)" "$before" "cache size after a restart"
regd_stop
