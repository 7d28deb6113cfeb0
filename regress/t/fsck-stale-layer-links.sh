#!/bin/bash
#
# Distribution's garbage collector removes blobs but leaves the _layers
# links to them.  "regctl fsck" reports such links as a separate,
# harmless kind (exit 0), not as problems; "fsck -r" removes them (not to
# quarantine); a dangling manifest revision link stays a problem.

. ./regress/lib.sh

regd_start
V2=$T/storage/docker/registry/v2

push_image lib/s v1
layer=$IMG_LAYER
lh=${layer#sha256:}
make_blob 800 "$T/b2"
push_blob lib/t "$T/b2"
b2=$(sha "$T/b2")
h2=${b2#sha256:}
# What Distribution's gc leaves behind: the blobs gone, the links not.
rm -r "$V2/blobs/sha256/${h2:0:2}/$h2"

$REGCTL fsck > "$T/out"
check_eq "$?" 0 "fsck exit status with only stale layer links"
grep -q "^stale layer link docker/registry/v2/repositories/lib/t/_layers/sha256/$h2/link -> $b2" \
    "$T/out" || fail "fsck did not name the stale link: $(cat "$T/out")"
grep -q ", 0 problems" "$T/out" || fail "fsck counted it a problem: $(cat "$T/out")"
grep -q "^fsck: 1 stale layer links (harmless)" "$T/out" ||
    fail "fsck summary of stale links: $(cat "$T/out")"

$REGCTL fsck -r > "$T/r" || fail "fsck -r: $(cat "$T/r")"
[ -e "$V2/repositories/lib/t/_layers/sha256/$h2" ] &&
    fail "fsck -r left the stale link"
[ -d "$T/storage/quarantine" ] && fail "fsck -r quarantined a stale link"
grep -q "^fsck: 1 stale layer links removed" "$T/r" ||
    fail "fsck -r summary: $(cat "$T/r")"
$REGCTL fsck > "$T/after" || fail "fsck after -r: $(cat "$T/after")"
grep -q stale "$T/after" && fail "stale links after -r: $(cat "$T/after")"

# A manifest whose blob is gone is a real problem still.
mh=${IMG_DIGEST#sha256:}
rm -r "$V2/blobs/sha256/${mh:0:2}/$mh"
$REGCTL fsck > "$T/bad"
check_eq "$?" 1 "fsck exit status with a dangling revision link"
grep -q "^dangling link .*/lib/s/_manifests/revisions/sha256/$mh/link" \
    "$T/bad" || fail "dangling revision link: $(cat "$T/bad")"
exit 0
