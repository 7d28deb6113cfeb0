#!/bin/bash
# An upstream's "cache size" is enforced: three images of ~10.4 KB each
# pulled through a mirror whose cache holds 25000 bytes (two of them),
# as a, b, a again, then c: b, the least recently pulled, is evicted
# (its tag gone; a and c keep theirs); a GC removes b's manifest and
# config but not its layer, which a locally pushed image uses too, nor
# anything of a and c; pulled again, b's manifest and config come from
# the upstream again (its access log counts a second GET), its layer
# does not.  regctl show mirror reports a cache size within the limit
# (the rule: evict the least recently pulled manifest while the bytes
# counted are over it, keeping the last one pulled), as the metrics do,
# the same after a restart.  Checks go through the API and the logs, so the test also
# runs on the S3 backend (REGD_BACKEND=s3).
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

MPORT=$(free_port)
mirror_start "$DREG_URL" '	mirror "up" prefix "hub"' '	cache size 25000' \
    "gc grace 0
metrics {
	listen on 127.0.0.1 port $MPORT
}"
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
ups_gets()
{
	grep -c "\"GET /v2/lib/$1 " "$T/dreg.log"
}
tags()
{
	http GET "$URL/v2/hub/lib/$1/tags/list"
	[ "$STATUS" = 200 ] && json_get '.tags // [] | join(" ")'
}
mirror_col()
{
	$REGCTL show mirror | awk -v c="$1" '$1 == "up" { print $c }'
}
evicted()
{
	[ "$(mirror_col 10)" = "$1" ]
}

pull a
pull b
pull a
pull c
wait_for "b was not evicted: $($REGCTL show mirror)" evicted 1
check_eq "$(tags b)" "" "b's tags after its eviction"
check_eq "$(tags a)" 1 "a's tags (pulled again after b)"
check_eq "$(tags c)" 1 "c's tags (the last pulled)"
grep -q "evicted hub/lib/b@${dg[b]}" "$T/regd.log" ||
    fail "the eviction was not logged"

out=$($REGCTL show mirror) || fail "regctl show mirror: $out"
note "$out"
set -- $(echo "$out" | awk '$1 == "up"')
check_eq "$9" 25000 "cache limit shown"
[ "$8" -gt 0 ] && [ "$8" -le 25000 ] || fail "cache size $8 over 25000"
check_eq "${10}" 1 "evictions shown"
curl -sf -o "$T/metrics" "http://127.0.0.1:$MPORT/metrics" || fail "no metrics"
for m in "cache_bytes $8" "cache_limit_bytes 25000" "evictions_total 1"; do
	set -- $m
	check_eq "$(awk -v n="regd_mirror_$1{upstream=\"up\"}" \
	    '$1 == n { print $2 }' "$T/metrics")" "$2" "regd_mirror_$1"
done

# GC: b's manifest and config go, its layer (local/x's too) stays.
$REGCTL gc > "$T/gc.out" || fail "regctl gc: $(cat "$T/gc.out")"
note "$(cat "$T/gc.out")"
for d in "${dg[b]}" "${cfg[b]}"; do
	grep -q "^blob $d " "$T/gc.out" || fail "GC left $d of b"
done
for d in "$(sha "$T/layer.b")" "${dg[a]}" "${cfg[a]}" "$(sha "$T/layer.a")" \
    "${dg[c]}" "${cfg[c]}" "$(sha "$T/layer.c")"; do
	grep -q "^blob $d " "$T/gc.out" && fail "GC removed $d"
done
http GET "$URL/v2/local/x/blobs/$(sha "$T/layer.b")"
check_eq "$STATUS" 200 "the local image's layer"

# b again: fetched again, but for the layer kept for local/x.
check_eq "$(ups_gets b/manifests/1)" 1 "upstream GETs of b before"
pull b
check_eq "$(ups_gets b/manifests/1)" 2 "upstream GETs of b after"
check_eq "$(ups_gets "b/blobs/${cfg[b]}")" 2 "upstream GETs of b's config"
check_eq "$(ups_gets "b/blobs/$(sha "$T/layer.b")")" 1 \
    "upstream GETs of b's layer"
check_eq "$(ups_gets a/manifests/1)" 1 "upstream GETs of a (cached)"

# The count and the pull times outlive a restart (the index note).
before=$(mirror_col 8)
regd_stop
[ "${REGD_BACKEND:-fs}" != fs ] ||
    [ -s "$T/storage/docker/registry/v2/_regd/mirrorcache.note" ] ||
    fail "no cache index written"
mirror_start "$DREG_URL" '	mirror "up" prefix "hub"' '	cache size 25000' \
    'gc grace 0'
check_eq "$(mirror_col 8)" "$before" "cache size after a restart"
regd_stop
