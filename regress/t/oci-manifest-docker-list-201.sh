#!/bin/bash
#
# A Docker manifest list naming two schema 2 manifests of the repository
# is accepted by tag and by digest and served back exactly, with the list
# media type; its children stay reachable by digest.

. ./regress/lib.sh

regd_start

# child ARCH: push a schema 2 image, print its manifest's descriptor.
child()
{
	local w=$T/$1 d

	mkdir -p "$w"
	printf '%s' "$MIN_CONFIG" | sed -e "s/amd64/$1/" > "$w/config"
	make_blob 1500 "$w/layer"
	push_blob lib/list "$w/config"
	push_blob lib/list "$w/layer"
	jq -n --arg c "$(sha "$w/config")" \
	    --argjson cs "$(stat -c %s "$w/config")" \
	    --arg l "$(sha "$w/layer")" \
	    --argjson ls "$(stat -c %s "$w/layer")" '{
		schemaVersion: 2,
		mediaType:
		    "application/vnd.docker.distribution.manifest.v2+json",
		config: { mediaType:
		    "application/vnd.docker.container.image.v1+json",
		    size: $cs, digest: $c },
		layers: [ { mediaType:
		    "application/vnd.docker.image.rootfs.diff.tar.gzip",
		    size: $ls, digest: $l } ]
	    }' > "$w/manifest"
	d=$(sha "$w/manifest")
	put_manifest_ok lib/list "$d" "$w/manifest" \
	    application/vnd.docker.distribution.manifest.v2+json
	jq -n --arg d "$d" --argjson s "$(stat -c %s "$w/manifest")" \
	    --arg a "$1" '{
		mediaType:
		    "application/vnd.docker.distribution.manifest.v2+json",
		size: $s, digest: $d,
		platform: { architecture: $a, os: "linux" }
	    }'
}

a=$(child amd64) || exit 1
b=$(child arm64) || exit 1
type=application/vnd.docker.distribution.manifest.list.v2+json
printf '%s\n%s\n' "$a" "$b" | jq -s '{
	schemaVersion: 2,
	mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
	manifests: .
    }' > "$T/list"
d=$(sha "$T/list")

put_manifest_ok lib/list multi "$T/list" "$type"
check_manifest lib/list multi "$T/list" "$type"
check_manifest lib/list "$d" "$T/list" "$type"
check_manifest lib/list "$(printf '%s' "$a" | jq -r .digest)" \
    "$T/amd64/manifest" application/vnd.docker.distribution.manifest.v2+json
exit 0
