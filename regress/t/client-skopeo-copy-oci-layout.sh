#!/bin/bash
#
# skopeo copies an OCI image layout (one image, a real gzipped tar layer)
# into regd and back out, to an OCI layout and to a dir: the manifest
# bytes, the manifest digest and every blob come back identical.

. ./regress/lib.sh

command -v skopeo >/dev/null || fail "skopeo is not installed (regress/deps.sh)"
printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"
sk()
{
	skopeo --policy "$T/policy.json" "$@" 2>&1 ||
	    fail "skopeo $*"
}

regd_start

make_oci_layout "$T/src" v1 amd64
mdigest=$(jq -r '.manifests[0].digest' "$T/src/index.json")
src=docker://127.0.0.1:$PORT/lib/skopeo:v1

sk copy --dest-tls-verify=false "oci:$T/src:v1" "$src" > "$T/copy.log"

# The registry has the exact manifest under the tag and the digest.
mfile=$T/src/blobs/sha256/${mdigest#sha256:}
check_manifest lib/skopeo v1 "$mfile" application/vnd.oci.image.manifest.v1+json
check_manifest lib/skopeo "$mdigest" "$mfile" \
    application/vnd.oci.image.manifest.v1+json
for b in $(jq -r '.config.digest, .layers[].digest' "$mfile"); do
	http GET "$URL/v2/lib/skopeo/blobs/$b"
	check_eq "$STATUS" 200 "GET blob $b"
	cmp -s "$BODY" "$T/src/blobs/sha256/${b#sha256:}" ||
	    fail "blob $b differs in the registry"
done

# Back out to an OCI layout.
sk copy --src-tls-verify=false "$src" "oci:$T/out:v1" > "$T/copy2.log"
check_eq "$(jq -r '.manifests[0].digest' "$T/out/index.json")" "$mdigest" \
    "manifest digest pulled into an OCI layout"
for f in "$T"/src/blobs/sha256/*; do
	cmp -s "$f" "$T/out/blobs/sha256/${f##*/}" ||
	    fail "blob ${f##*/} differs after the round trip"
done

# And to a dir.
sk copy --src-tls-verify=false "$src" "dir:$T/dir" > "$T/copy3.log"
cmp -s "$T/dir/manifest.json" "$mfile" || fail "dir: manifest.json differs"
for b in $(jq -r '.config.digest, .layers[].digest' "$mfile"); do
	cmp -s "$T/dir/${b#sha256:}" "$T/src/blobs/sha256/${b#sha256:}" ||
	    fail "dir: blob $b differs"
done

# skopeo sees what it pushed.
sk inspect --tls-verify=false "$src" > "$T/inspect.json"
check_eq "$(jq -r .Digest "$T/inspect.json")" "$mdigest" "skopeo inspect Digest"
check_eq "$(jq -r .Architecture "$T/inspect.json")" amd64 "Architecture"
exit 0
