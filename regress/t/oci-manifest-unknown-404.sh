#!/bin/bash
#
# GET and HEAD of a manifest that does not exist answer 404; GET with
# MANIFEST_UNKNOWN for an unknown tag or digest in a known repository, and
# MANIFEST_UNKNOWN or NAME_UNKNOWN in an unknown repository.

. ./regress/lib.sh

regd_start

push_image lib/known v1
missing=sha256:$(printf 'nope' | sha256sum | cut -d' ' -f1)

for ref in v2 "$missing"; do
	http GET "$URL/v2/lib/known/manifests/$ref" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	expect_error 404 MANIFEST_UNKNOWN
	http HEAD "$URL/v2/lib/known/manifests/$ref" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 404 "HEAD of unknown manifest $ref"
done

# A blob is not a manifest.
http GET "$URL/v2/lib/known/manifests/$IMG_LAYER" -H "Accept: $ACCEPT_MANIFESTS"
expect_error 404 MANIFEST_UNKNOWN

http GET "$URL/v2/no/such/repo/manifests/latest" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "GET manifest in an unknown repository"
code=$(jq -r '.errors[0].code' < "$BODY" 2>/dev/null)
case $code in
MANIFEST_UNKNOWN | NAME_UNKNOWN)
	;;
*)
	fail "manifest in an unknown repository: error code '$code'"
	;;
esac
exit 0
