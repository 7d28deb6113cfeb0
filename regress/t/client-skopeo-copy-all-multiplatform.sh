#!/bin/bash
#
# skopeo copy --all pushes a two-platform OCI index (linux/amd64 and
# linux/arm64) into regd; pulls with --override-arch get each platform's
# own manifest and config, and copy --all back out gives the same index
# and blobs.

. ./regress/lib.sh

printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"
sk()
{
	skopeo --policy "$T/policy.json" "$@" 2>&1 ||
	    fail "skopeo $*"
}

regd_start

make_oci_layout "$T/src" multi amd64 arm64
idigest=$(jq -r '.manifests[0].digest' "$T/src/index.json")
ifile=$T/src/blobs/sha256/${idigest#sha256:}
ref=docker://127.0.0.1:$PORT/lib/multi:v1

sk copy --all --dest-tls-verify=false "oci:$T/src:multi" "$ref" > "$T/push.log"

check_manifest lib/multi v1 "$ifile" application/vnd.oci.image.index.v1+json
for arch in amd64 arm64; do
	m=$(jq -r --arg a $arch \
	    '.manifests[] | select(.platform.architecture == $a) | .digest' \
	    "$ifile")
	mfile=$T/src/blobs/sha256/${m#sha256:}
	check_manifest lib/multi "$m" "$mfile" \
	    application/vnd.oci.image.manifest.v1+json

	sk copy --src-tls-verify=false --override-arch $arch \
	    --override-os linux "$ref" "oci:$T/$arch:v1" > "$T/pull-$arch.log"
	check_eq "$(jq -r '.manifests[0].digest' "$T/$arch/index.json")" "$m" \
	    "manifest pulled for $arch"
	c=$(jq -r .config.digest "$mfile")
	check_eq "$(jq -r .architecture "$T/$arch/blobs/sha256/${c#sha256:}")" \
	    $arch "architecture in the config pulled for $arch"
	for b in $(jq -r '.config.digest, .layers[].digest' "$mfile"); do
		cmp -s "$T/$arch/blobs/sha256/${b#sha256:}" \
		    "$T/src/blobs/sha256/${b#sha256:}" ||
		    fail "$arch: blob $b differs"
	done
done

sk copy --all --src-tls-verify=false "$ref" "oci:$T/all:v1" > "$T/all.log"
check_eq "$(jq -r '.manifests[0].digest' "$T/all/index.json")" "$idigest" \
    "index digest after copy --all back"
for f in "$T"/src/blobs/sha256/*; do
	cmp -s "$f" "$T/all/blobs/sha256/${f##*/}" ||
	    fail "blob ${f##*/} differs after copy --all back"
done
exit 0
