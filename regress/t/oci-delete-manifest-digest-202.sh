#!/bin/bash
#
# DELETE /v2/<name>/manifests/<digest> removes the manifest and every tag
# pointing at it: 202, then the digest and those tags are 404 and out of
# the tags list, a tag of another manifest stays; again is a 404
# MANIFEST_UNKNOWN, and a repository that does not exist is a 404.

. ./regress/lib.sh

regd_start

push_image lib/dm keep
keep=$IMG_DIGEST
keepfile=$IMG_MANIFEST
push_image lib/dm a
type=application/vnd.oci.image.manifest.v1+json
put_manifest_ok lib/dm b "$IMG_MANIFEST" "$type"

http DELETE "$URL/v2/lib/dm/manifests/$IMG_DIGEST"
check_eq "$STATUS" 202 "DELETE by digest"

for ref in "$IMG_DIGEST" a b; do
	http GET "$URL/v2/lib/dm/manifests/$ref" -H "Accept: $ACCEPT_MANIFESTS"
	expect_error 404 MANIFEST_UNKNOWN
	http HEAD "$URL/v2/lib/dm/manifests/$ref" -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 404 "HEAD $ref after the delete"
done
http GET "$URL/v2/lib/dm/tags/list"
check_eq "$STATUS" 200 "tags list"
check_eq "$(json_get '.tags | join(",")')" keep "tags after the delete"
check_manifest lib/dm keep "$keepfile" "$type"
check_manifest lib/dm "$keep" "$keepfile" "$type"

http DELETE "$URL/v2/lib/dm/manifests/$IMG_DIGEST"
expect_error 404 MANIFEST_UNKNOWN

http DELETE "$URL/v2/lib/nosuchrepo/manifests/$IMG_DIGEST"
check_eq "$STATUS" 404 "DELETE in an unknown repository"

# The manifest can be pushed again.
put_manifest_ok lib/dm again "$IMG_MANIFEST" "$type"
check_manifest lib/dm again "$IMG_MANIFEST" "$type"
exit 0
