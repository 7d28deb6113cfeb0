#!/bin/bash
#
# On a server without "delete yes", deleting a tag, a manifest or a blob
# answers 405 UNSUPPORTED and removes nothing.

. ./regress/lib.sh

REGD_DELETE=no
regd_start

push_image lib/nodel v1
type=application/vnd.oci.image.manifest.v1+json

for ref in v1 "$IMG_DIGEST"; do
	http DELETE "$URL/v2/lib/nodel/manifests/$ref"
	expect_error 405 UNSUPPORTED
done
http DELETE "$URL/v2/lib/nodel/blobs/$IMG_LAYER"
expect_error 405 UNSUPPORTED

check_manifest lib/nodel v1 "$IMG_MANIFEST" "$type"
check_manifest lib/nodel "$IMG_DIGEST" "$IMG_MANIFEST" "$type"
http GET "$URL/v2/lib/nodel/blobs/$IMG_LAYER"
check_eq "$STATUS" 200 "layer still there"
exit 0
