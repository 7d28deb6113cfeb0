#!/bin/bash
#
# DELETE /v2/<name>/manifests/<tag> removes only that tag: 202, the tag is
# then 404 and out of the tags list, while the other tag of the same
# manifest and the manifest by digest stay; deleting it again is a 404.

. ./regress/lib.sh

regd_start

push_image lib/dt one
type=application/vnd.oci.image.manifest.v1+json
put_manifest_ok lib/dt two "$IMG_MANIFEST" "$type"

http DELETE "$URL/v2/lib/dt/manifests/one"
check_eq "$STATUS" 202 "DELETE of tag one"

http GET "$URL/v2/lib/dt/manifests/one" -H "Accept: $ACCEPT_MANIFESTS"
expect_error 404 MANIFEST_UNKNOWN
check_manifest lib/dt two "$IMG_MANIFEST" "$type"
check_manifest lib/dt "$IMG_DIGEST" "$IMG_MANIFEST" "$type"
http GET "$URL/v2/lib/dt/tags/list"
check_eq "$(json_get '.tags | join(",")')" two "tags after the delete"
http GET "$URL/v2/lib/dt/blobs/$IMG_LAYER"
check_eq "$STATUS" 200 "layer after the tag delete"

http DELETE "$URL/v2/lib/dt/manifests/one"
check_eq "$STATUS" 404 "second DELETE of tag one"
code=$(jq -r '.errors[0].code' < "$BODY" 2>/dev/null)
case $code in
MANIFEST_UNKNOWN | NAME_UNKNOWN)
	;;
*)
	fail "second DELETE of tag one: error code '$code'"
	;;
esac
exit 0
