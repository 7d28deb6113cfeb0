#!/bin/bash
# Manifests cached before the mirror's cache index existed (or whose
# index was lost) count in the cache size once pulled again: two images
# pulled through a mirror, regd stopped, the index note removed, regd
# started again (cache size 0: nothing counted), then a pulled by tag
# (revalidated, the upstream confirms its digest) and b by digest (a
# mirror without pushes: only the upstream's are there): the cache size
# is what it was before, and it survives a restart.  fs backend only
# (the test removes the note file).
. regress/lib.sh
. regress/mirrorlib.sh

[ "${REGD_BACKEND:-fs}" = fs ] || skip "removes the index note file"
mkdir -p "$T/up"
dreg_start "$T/up"
declare -A dg
for i in a b; do
	make_blob 10000 "$T/layer.$i"
	up_image "lib/$i" 1 "$T/layer.$i"
	dg[$i]=$UP_DIGEST
done

start()
{
	mirror_start "$DREG_URL" '	mirror "up" prefix "hub"' \
	    '	cache size 1000000'
}
pull()	# pull IMAGE REF
{
	local d

	http GET "$URL/v2/hub/lib/$1/manifests/$2" \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	check_eq "$STATUS" 200 "pull $1: manifest"
	check_eq "$(hdr Docker-Content-Digest)" "${dg[$1]}" "pull $1: digest"
	for d in $(jq -r '.config.digest, .layers[].digest' < "$BODY"); do
		curl -sf -o /dev/null "$URL/v2/hub/lib/$1/blobs/$d" ||
		    fail "pull $1: blob $d"
	done
}
cached()
{
	$REGCTL show mirror | awk '$1 == "up" { print $8 }'
}

start
pull a 1
pull b 1
full=$(cached)
[ "$full" -gt 20000 ] || fail "cache size $full after two images"
regd_stop
note=$T/storage/docker/registry/v2/_regd/mirrorcache.note
[ -s "$note" ] || fail "no cache index written"
rm -f "$note"

start
check_eq "$(cached)" 0 "cache size without an index"
pull a 1
pull b "${dg[b]}"
check_eq "$(cached)" "$full" "cache size once both were pulled again"
grep -q "counted hub/lib/a@${dg[a]}, stored before its index" \
    "$T/regd.log" || fail "the count was not logged"
regd_stop
start
check_eq "$(cached)" "$full" "cache size after a restart"
regd_stop
