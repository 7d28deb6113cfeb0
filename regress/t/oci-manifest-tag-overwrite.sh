#!/bin/bash
#
# PUT of another manifest under an existing tag moves the tag: GET by tag
# gives the new manifest, the old one stays reachable by digest, and the
# tag is listed once.

. ./regress/lib.sh

regd_start

type=application/vnd.oci.image.manifest.v1+json
push_image lib/move latest
old=$IMG_DIGEST
oldfile=$IMG_MANIFEST
push_image lib/move latest
new=$IMG_DIGEST
[ "$old" != "$new" ] || fail "the two test images are the same"

check_manifest lib/move latest "$IMG_MANIFEST" "$type"
check_manifest lib/move "$old" "$oldfile" "$type"
check_manifest lib/move "$new" "$IMG_MANIFEST" "$type"

# And back again.
put_manifest_ok lib/move latest "$oldfile" "$type"
check_manifest lib/move latest "$oldfile" "$type"

http GET "$URL/v2/lib/move/tags/list"
check_eq "$(json_get '.tags | join(",")')" latest "tags after the moves"
exit 0
