#!/bin/bash
#
# PUT /v2/<name>/manifests/<digest> whose body has another digest is
# refused with 400 DIGEST_INVALID; nothing is stored under either digest.

. ./regress/lib.sh

regd_start

push_image lib/dm v1
type=application/vnd.oci.image.manifest.v1+json
jq -c '.annotations = { "x": "y" }' "$IMG_MANIFEST" > "$T/m2"
real=$(sha "$T/m2")
wrong=$IMG_DIGEST
wrong2=sha256:$(printf 'other' | sha256sum | cut -d' ' -f1)

for ref in "$wrong" "$wrong2"; do
	http PUT "$URL/v2/lib/dm/manifests/$ref" -H "Content-Type: $type" \
	    --data-binary "@$T/m2"
	expect_error 400 DIGEST_INVALID
done

http GET "$URL/v2/lib/dm/manifests/$real" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "GET of the body's own digest"
http GET "$URL/v2/lib/dm/manifests/$wrong2" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "GET of the claimed digest"
# The manifest that really has the claimed digest is unchanged.
check_manifest lib/dm "$wrong" "$IMG_MANIFEST" "$type"
exit 0
