#!/bin/bash
#
# An image index (OCI or Docker list) naming a manifest the repository
# does not have is refused with 400 MANIFEST_BLOB_UNKNOWN and not stored.

. ./regress/lib.sh

regd_start

push_image lib/idx present
have=$IMG_DIGEST
havesize=$IMG_SIZE
missing=sha256:$(printf 'missing manifest' | sha256sum | cut -d' ' -f1)

for type in application/vnd.oci.image.index.v1+json \
    application/vnd.docker.distribution.manifest.list.v2+json; do
	if [ "$type" = application/vnd.oci.image.index.v1+json ]; then
		ctype=application/vnd.oci.image.manifest.v1+json
	else
		ctype=application/vnd.docker.distribution.manifest.v2+json
	fi
	jq -n --arg t "$type" --arg ct "$ctype" --arg h "$have" \
	    --argjson hs "$havesize" --arg m "$missing" '{
		schemaVersion: 2,
		mediaType: $t,
		manifests: [
		    { mediaType: "application/vnd.oci.image.manifest.v1+json",
		      digest: $h, size: $hs,
		      platform: { architecture: "amd64", os: "linux" } },
		    { mediaType: $ct, digest: $m, size: 1234,
		      platform: { architecture: "arm64", os: "linux" } } ]
	    }' > "$T/index"
	http PUT "$URL/v2/lib/idx/manifests/multi" -H "Content-Type: $type" \
	    --data-binary "@$T/index"
	expect_error 400 MANIFEST_BLOB_UNKNOWN
	http GET "$URL/v2/lib/idx/manifests/multi" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 404 "GET of the refused index ($type)"
	http GET "$URL/v2/lib/idx/manifests/$(sha "$T/index")" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 404 "GET by digest of the refused index ($type)"
done

# A manifest of another repository does not count either.
push_image lib/other x
jq -n --arg d "$IMG_DIGEST" --argjson s "$IMG_SIZE" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [ { mediaType: "application/vnd.oci.image.manifest.v1+json",
	    digest: $d, size: $s } ]
    }' > "$T/index2"
http PUT "$URL/v2/lib/idx/manifests/other" \
    -H "Content-Type: application/vnd.oci.image.index.v1+json" \
    --data-binary "@$T/index2"
expect_error 400 MANIFEST_BLOB_UNKNOWN
exit 0
