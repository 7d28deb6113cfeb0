#!/bin/bash
#
# A Docker image manifest schema 2 PUT by tag and by digest is stored and
# served back byte for byte with its Docker media type and digest.

. ./regress/lib.sh

regd_start

printf '%s' "$MIN_CONFIG" | sed -e 's/amd64/arm64/' > "$T/config"
make_blob 3000 "$T/layer"
push_blob lib/docker "$T/config"
push_blob lib/docker "$T/layer"
type=application/vnd.docker.distribution.manifest.v2+json
jq -n --arg c "$(sha "$T/config")" --argjson cs "$(stat -c %s "$T/config")" \
    --arg l "$(sha "$T/layer")" --argjson ls "$(stat -c %s "$T/layer")" '{
	schemaVersion: 2,
	mediaType: "application/vnd.docker.distribution.manifest.v2+json",
	config: { mediaType: "application/vnd.docker.container.image.v1+json",
	    size: $cs, digest: $c },
	layers: [ { mediaType:
	    "application/vnd.docker.image.rootfs.diff.tar.gzip",
	    size: $ls, digest: $l } ]
    }' > "$T/manifest"
d=$(sha "$T/manifest")

put_manifest_ok lib/docker latest "$T/manifest" "$type"
check_manifest lib/docker latest "$T/manifest" "$type"
check_manifest lib/docker "$d" "$T/manifest" "$type"
put_manifest_ok lib/docker "$d" "$T/manifest" "$type"
check_manifest lib/docker "$d" "$T/manifest" "$type"
exit 0
