#!/bin/bash
#
# An OCI image manifest PUT by tag and then by digest answers 201 with
# Location and Docker-Content-Digest; GET and HEAD by tag and by digest
# give the exact bytes, the OCI media type and the digest.

. ./regress/lib.sh

regd_start

printf '%s' "$MIN_CONFIG" > "$T/config"
make_blob 2000 "$T/layer"
push_blob lib/oci "$T/config"
push_blob lib/oci "$T/layer"
type=application/vnd.oci.image.manifest.v1+json
jq -n --arg c "$(sha "$T/config")" --argjson cs "$(stat -c %s "$T/config")" \
    --arg l "$(sha "$T/layer")" --argjson ls "$(stat -c %s "$T/layer")" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: $cs },
	layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
	    digest: $l, size: $ls } ],
	annotations: { "org.opencontainers.image.title": "regress" }
    }' > "$T/manifest"
d=$(sha "$T/manifest")

put_manifest_ok lib/oci v1 "$T/manifest" "$type"
check_manifest lib/oci v1 "$T/manifest" "$type"
check_manifest lib/oci "$d" "$T/manifest" "$type"

# By digest into another repository that has the blobs.
push_blob lib/oci2 "$T/config"
push_blob lib/oci2 "$T/layer"
put_manifest_ok lib/oci2 "$d" "$T/manifest" "$type"
check_manifest lib/oci2 "$d" "$T/manifest" "$type"
exit 0
