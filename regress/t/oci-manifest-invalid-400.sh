#!/bin/bash
#
# A manifest body that is not JSON, not an object, or empty is refused
# with 400 MANIFEST_INVALID and nothing is stored under the tag.

. ./regress/lib.sh

regd_start

push_image lib/inv good
type=application/vnd.oci.image.manifest.v1+json

n=0
for body in '{not json' '{"schemaVersion": 2, "config": ' '[1, 2, 3]' \
    '"a string"' ''; do
	n=$((n + 1))
	printf '%s' "$body" > "$T/bad$n"
	http PUT "$URL/v2/lib/inv/manifests/bad$n" -H "Content-Type: $type" \
	    --data-binary "@$T/bad$n"
	expect_error 400 MANIFEST_INVALID
	http GET "$URL/v2/lib/inv/manifests/bad$n" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 404 "GET of refused manifest '$body'"
done

# The good one is untouched.
check_manifest lib/inv good "$IMG_MANIFEST" "$type"
exit 0
