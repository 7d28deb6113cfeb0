#!/bin/bash
#
# GET /v2/<name>/referrers/<digest> with no referrers is a 200 empty image
# index with the index media type, for a manifest that exists and for a
# digest that does not; a digest that is not one is a 400.

. ./regress/lib.sh

regd_start

push_image lib/refs v1
ghost=sha256:$(printf 'ghost' | sha256sum | cut -d' ' -f1)

for d in "$IMG_DIGEST" "$ghost"; do
	http GET "$URL/v2/lib/refs/referrers/$d"
	check_eq "$STATUS" 200 "referrers of $d"
	check_eq "$(hdr Content-Type)" application/vnd.oci.image.index.v1+json \
	    "Content-Type"
	check_eq "$(json_get .schemaVersion)" 2 "schemaVersion"
	check_eq "$(json_get .mediaType)" \
	    application/vnd.oci.image.index.v1+json "mediaType"
	check_eq "$(json_get '.manifests | type')" array "manifests type"
	check_eq "$(json_get '.manifests | length')" 0 "manifests"
done

for bad in sha256:totallywrong sha256:abc; do
	http GET "$URL/v2/lib/refs/referrers/$bad"
	check_eq "$STATUS" 400 "referrers of $bad"
done
exit 0
