#!/bin/bash
#
# An OCI image index naming two image manifests of the repository is
# accepted by tag and by digest and served back exactly with the index
# media type; an index may also name another index.

. ./regress/lib.sh

regd_start

push_image lib/index amd64-only amd64
a=$(jq -n --arg d "$IMG_DIGEST" --argjson s "$IMG_SIZE" '{
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	digest: $d, size: $s, platform: { architecture: "amd64", os: "linux" }
    }')
push_image lib/index arm64-only arm64
b=$(jq -n --arg d "$IMG_DIGEST" --argjson s "$IMG_SIZE" '{
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	digest: $d, size: $s, platform: { architecture: "arm64", os: "linux" }
    }')
type=application/vnd.oci.image.index.v1+json
printf '%s\n%s\n' "$a" "$b" | jq -s '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: .
    }' > "$T/index"
d=$(sha "$T/index")

put_manifest_ok lib/index multi "$T/index" "$type"
check_manifest lib/index multi "$T/index" "$type"
check_manifest lib/index "$d" "$T/index" "$type"

jq -n --arg d "$d" --argjson s "$(stat -c %s "$T/index")" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [ { mediaType: "application/vnd.oci.image.index.v1+json",
	    digest: $d, size: $s } ]
    }' > "$T/outer"
put_manifest_ok lib/index nested "$T/outer" "$type"
check_manifest lib/index nested "$T/outer" "$type"
exit 0
