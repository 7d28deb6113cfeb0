#!/bin/bash
#
# "regctl fsck" verifies every blob against its digest and every link
# against its target while regd serves: a blob with one flipped byte is
# reported (exit 1) and left alone, a layer link whose blob is gone is
# reported as stale (harmless); "fsck -r" moves the corrupt blob and the
# link to it under quarantine/ in the storage root, outside docker/, and
# removes the stale link; fsck is then clean (exit 0), the corrupt layer
# is unknown to its repository and a push of the good bytes works again.

. ./regress/lib.sh

regd_start
V2=$T/storage/docker/registry/v2

push_image lib/f v1
layer=$IMG_LAYER
cp "$T"/img.*/layer "$T/good"
make_blob 700 "$T/lost"
push_blob lib/f "$T/lost"
lost=$(sha "$T/lost")

$REGCTL fsck > "$T/clean" || fail "fsck of a clean tree: $(cat "$T/clean")"
grep -q "^fsck: 4 blobs and .* links checked, 0 problems" "$T/clean" ||
    fail "clean fsck summary: $(cat "$T/clean")"

hex=${layer#sha256:}
data=$V2/blobs/sha256/${hex:0:2}/$hex/data
b=$(od -An -tu1 -j 100 -N 1 "$data" | tr -d ' ')
printf "$(printf '\\%03o' $(((b + 1) % 256)))" |
    dd of="$data" bs=1 seek=100 conv=notrunc 2>/dev/null
lhex=${lost#sha256:}
rm -r "$V2/blobs/sha256/${lhex:0:2}/$lhex"

$REGCTL fsck > "$T/bad"
check_eq "$?" 1 "fsck exit status with problems"
grep -q "^corrupt blob $layer " "$T/bad" ||
    fail "fsck missed the flipped byte: $(cat "$T/bad")"
grep -q "^stale layer link docker/registry/v2/repositories/lib/f/_layers/sha256/$lhex/link -> $lost" \
    "$T/bad" || fail "fsck missed the stale link: $(cat "$T/bad")"
grep -q ", 1 problems" "$T/bad" || fail "fsck summary: $(cat "$T/bad")"
[ -f "$data" ] || fail "fsck without -r moved the corrupt blob"
[ -d "$T/storage/quarantine" ] && fail "fsck without -r made a quarantine"

$REGCTL fsck -r > "$T/repair"
check_eq "$?" 0 "fsck -r exit status"
[ -f "$data" ] && fail "fsck -r left the corrupt blob in place"
q=$(find "$T/storage/quarantine" -type f | sort)
# The corrupt blob and the link to it that then dangles.
check_eq "$(echo "$q" | wc -l)" 2 "files in quarantine: $q"
echo "$q" | grep -q "/repositories/lib/f/_layers/sha256/$hex/link$" ||
    fail "the corrupt blob's link not in quarantine: $q"
echo "$q" | grep -q "/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data$" ||
    fail "corrupt blob not in quarantine: $q"
[ -e "$V2/repositories/lib/f/_layers/sha256/$lhex" ] &&
    fail "fsck -r left the stale link"
cmp -s "$(echo "$q" | grep /data)" "$T/good" &&
    fail "the quarantined blob is not the corrupt one"

$REGCTL fsck > "$T/after" || fail "fsck after repair: $(cat "$T/after")"
http HEAD "$URL/v2/lib/f/blobs/$layer"
check_eq "$STATUS" 404 "the corrupt layer after repair"
push_blob lib/f "$T/good"
http GET "$URL/v2/lib/f/blobs/$layer"
check_eq "$STATUS" 200 "the layer pushed again"
cmp -s "$BODY" "$T/good" || fail "the layer pushed again differs"
http GET "$URL/v2/lib/f/manifests/v1"
check_eq "$STATUS" 200 "the image after repair"
