#!/bin/bash
# An upstream serving bytes that do not match a blob's digest (its data
# file edited in Distribution's storage) never gets them into regd's
# store: the client's connection is closed short of the length, not
# ended cleanly, and the next pull fetches again.  Then the upstream
# stops: cached tags (revalidated after a 0 s TTL) and digests still
# pull, logged once per repository; uncached ones get the spec's JSON
# error at once, not a hang.
. regress/lib.sh
. regress/mirrorlib.sh

mkdir -p "$T/up"
dreg_start "$T/up"
# image REPO TAG: config + a 3 MiB layer + manifest upstream.
image()
{
	local f=$T/layer.${1//\//_}.$2

	make_blob $((3 * 1024 * 1024)) "$f"
	up_image "$1" "$2" "$f"
	LAYER=$(sha "$f")
	LAYER_FILE=$f
	MDIGEST=$UP_DIGEST
}

image lib/good v1
GOOD_LAYER=$LAYER
GOOD_M=$MDIGEST
image lib/bad v1
BAD_LAYER=$LAYER
BAD_SIZE=$(stat -c %s "$LAYER_FILE")
# Flip one byte of the stored blob: same size, other digest.
hex=${BAD_LAYER#sha256:}
f=$T/up/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
[ -f "$f" ] || fail "no upstream data file $f"
printf '\xff' | dd of="$f" bs=1 seek=$((BAD_SIZE / 2)) conv=notrunc \
    status=none
image lib/cold v1

mirror_start "$DREG_URL" '	mirror "up"' '	tag ttl 0'

# The corrupted blob: cut short, never stored, fetched again next time.
for i in 1 2; do
	code=0
	curl -s -o "$T/badout" "$URL/v2/lib/bad/blobs/$BAD_LAYER" ||
	    code=$?
	[ "$code" -ne 0 ] ||
	    fail "corrupted blob: a clean end (try $i): $(head -c 300 "$T/badout")"
	got=$(stat -c %s "$T/badout")
	[ "$got" -lt "$BAD_SIZE" ] ||
	    fail "corrupted blob: the client got all $got bytes (try $i)"
	[ ! -e "$T/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex" ] ||
	    fail "corrupted blob stored"
done
n=$(grep -c "GET /v2/lib/bad/blobs/$BAD_LAYER" "$T/dreg.log")
check_eq "$n" 2 "upstream GETs of the corrupted blob"
grep -q "upstream up sent bytes of sha256:.* for lib/bad@$BAD_LAYER" \
    "$T/regd.log" || fail "no log line for the corrupted blob"
# (nothing of it may be linked either)
[ -z "$(find "$T/storage/docker/registry/v2/repositories/lib/bad/_layers" \
    -path "*$hex*" 2>/dev/null)" ] || fail "corrupted blob linked"

# Warm up lib/good, then stop the upstream.
http GET "$URL/v2/lib/good/manifests/v1" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
check_eq "$STATUS" 200 "lib/good:v1"
check_eq "$(hdr Docker-Content-Digest)" "$GOOD_M" "lib/good:v1 digest"
http GET "$URL/v2/lib/good/blobs/$GOOD_LAYER"
check_eq "$STATUS" 200 "lib/good layer"
dreg_stop

for i in 1 2 3; do
	http GET "$URL/v2/lib/good/manifests/v1" --max-time 10 \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	check_eq "$STATUS" 200 "cached tag with the upstream down ($i)"
	check_eq "$(hdr Docker-Content-Digest)" "$GOOD_M" "cached digest"
done
http GET "$URL/v2/lib/good/manifests/$GOOD_M" --max-time 10
check_eq "$STATUS" 200 "cached digest with the upstream down"
http GET "$URL/v2/lib/good/blobs/$GOOD_LAYER" --max-time 10
check_eq "$STATUS" 200 "cached blob with the upstream down"
n=$(grep -c "upstream up: .*serving the cached lib/good" "$T/regd.log")
check_eq "$n" 1 "log lines about serving lib/good stale"

start=$(date +%s%N)
http GET "$URL/v2/lib/cold/manifests/v1" --max-time 20
expect_error 503 UNAVAILABLE
http GET "$URL/v2/lib/cold/blobs/$GOOD_LAYER" --max-time 20
expect_error 503 UNAVAILABLE
ms=$(( ($(date +%s%N) - start) / 1000000 ))
note "two uncached pulls with the upstream down: $ms ms"
[ "$ms" -lt 5000 ] || fail "uncached pulls took $ms ms"
regd_stop
