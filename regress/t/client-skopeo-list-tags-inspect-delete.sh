#!/bin/bash
#
# skopeo list-tags, inspect and delete work against regd: the tags come
# back sorted, inspect reports the digest and platform and --raw the exact
# manifest, and delete of a tag removes its manifest and every tag of it.

. ./regress/lib.sh

printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"
sk()
{
	skopeo --policy "$T/policy.json" "$@" 2>"$T/sk.err" ||
	    fail "skopeo $*: $(cat "$T/sk.err")"
}

regd_start

make_oci_layout "$T/a" a arm64
make_oci_layout "$T/b" b amd64
repo=docker://127.0.0.1:$PORT/lib/tools
sk copy --dest-tls-verify=false "oci:$T/a:a" "$repo:v1" > /dev/null
sk copy --dest-tls-verify=false "oci:$T/b:b" "$repo:v2" > /dev/null
sk copy --dest-tls-verify=false "oci:$T/b:b" "$repo:v2-alias" > /dev/null
sk copy --dest-tls-verify=false "oci:$T/a:a" "$repo:0.9" > /dev/null
adigest=$(jq -r '.manifests[0].digest' "$T/a/index.json")
bdigest=$(jq -r '.manifests[0].digest' "$T/b/index.json")

sk list-tags --tls-verify=false "$repo" > "$T/tags.json"
check_eq "$(jq -r '.Tags | join(",")' "$T/tags.json")" "0.9,v1,v2,v2-alias" \
    "skopeo list-tags"

sk inspect --tls-verify=false "$repo:v2" > "$T/inspect.json"
check_eq "$(jq -r .Digest "$T/inspect.json")" "$bdigest" "inspect Digest"
check_eq "$(jq -r .Architecture "$T/inspect.json")" amd64 "inspect Architecture"
check_eq "$(jq -r .Os "$T/inspect.json")" linux "inspect Os"
check_eq "$(jq -r '.RepoTags | join(",")' "$T/inspect.json")" \
    "0.9,v1,v2,v2-alias" "inspect RepoTags"

sk inspect --raw --tls-verify=false "$repo:v1" > "$T/raw"
cmp -s "$T/raw" "$T/a/blobs/sha256/${adigest#sha256:}" ||
    fail "inspect --raw is not the manifest pushed"
sk inspect --config --raw --tls-verify=false "$repo:v1" > "$T/config"
check_eq "$(jq -r .architecture "$T/config")" arm64 "inspect --config"

sk delete --tls-verify=false "$repo:v2"
sk list-tags --tls-verify=false "$repo" > "$T/tags2.json"
check_eq "$(jq -r '.Tags | join(",")' "$T/tags2.json")" "0.9,v1" \
    "tags after skopeo delete of v2"
http GET "$URL/v2/lib/tools/manifests/$bdigest" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "the deleted manifest by digest"
if skopeo --policy "$T/policy.json" inspect --tls-verify=false \
    "$repo:v2-alias" > /dev/null 2>&1; then
	fail "skopeo inspect of v2-alias works after its manifest was deleted"
fi
sk inspect --tls-verify=false "$repo:v1" > "$T/inspect2.json"
check_eq "$(jq -r .Digest "$T/inspect2.json")" "$adigest" "v1 after the delete"
exit 0
