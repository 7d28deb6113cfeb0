#!/bin/bash
# regress: long 30
#
# What skopeo pushed to regd (an OCI image under two tags, a two-platform
# index, a Docker schema 2 image, an artifact with a subject) is served
# byte for byte the same by Debian's docker-registry (CNCF Distribution)
# from the same storage directory after regd stops: manifests, media
# types, digests, blobs, tags; skopeo copy --all from it gives the same
# index and blobs as the source.

. ./regress/lib.sh

printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"
sk()
{
	skopeo --policy "$T/policy.json" "$@" > "$T/sk.out" 2>&1 ||
	    fail "skopeo $*: $(tail -5 "$T/sk.out")"
}

regd_start

make_oci_layout "$T/one" one amd64
make_oci_layout "$T/multi" multi amd64 arm64
reg=127.0.0.1:$PORT
sk copy --dest-tls-verify=false "oci:$T/one:one" "docker://$reg/lib/one:v1"
sk copy --dest-tls-verify=false "oci:$T/one:one" "docker://$reg/lib/one:v2"
sk copy --all --dest-tls-verify=false "oci:$T/multi:multi" \
    "docker://$reg/lib/multi:v1"
sk copy --format v2s2 --dest-tls-verify=false "oci:$T/one:one" \
    "docker://$reg/lib/docker:v1"
one=$(jq -r '.manifests[0].digest' "$T/one/index.json")
multi=$(jq -r '.manifests[0].digest' "$T/multi/index.json")

# An artifact referring to lib/one's image, pushed with curl.
printf '{}' > "$T/empty"
push_blob lib/one "$T/empty"
jq -n --arg e "$EMPTY_JSON" --arg s "$one" --argjson ss \
    "$(stat -c %s "$T/one/blobs/sha256/${one#sha256:}")" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	artifactType: "application/vnd.example.note.v1",
	config: { mediaType: "application/vnd.oci.empty.v1+json",
	    digest: $e,
	    size: 2 },
	layers: [ { mediaType: "application/vnd.oci.empty.v1+json",
	    digest: $e,
	    size: 2 } ],
	subject: { mediaType: "application/vnd.oci.image.manifest.v1+json",
	    digest: $s, size: $ss }
    }' > "$T/art"
art=$(sha "$T/art")
http PUT "$URL/v2/lib/one/manifests/$art" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$T/art"
check_eq "$STATUS" 201 "PUT of the artifact"

refs="lib/one@v1 lib/one@v2 lib/one@$one lib/one@$art lib/multi@v1
lib/multi@$multi lib/docker@v1"
snapshot_registry "$URL" "$T/snap.regd" $refs
http GET "$URL/v2/_catalog"
json_get '.repositories[]' | LC_ALL=C sort > "$T/snap.regd/catalog"
grep -h '^status' "$T"/snap.regd/*.meta | sort | uniq -c | sed 's/^/# /' >&2
if grep -q '^status [^2]' "$T"/snap.regd/*.meta; then
	fail "regd did not serve everything: $(grep -l '^status [^2]' \
	    "$T"/snap.regd/*.meta)"
fi
if grep -q 'blob .* status [^2]' "$T"/snap.regd/*.meta; then
	fail "regd did not serve every blob"
fi
check_eq "$(paste -sd, "$T/snap.regd/catalog")" lib/docker,lib/multi,lib/one \
    "regd's catalog"

regd_stop
dreg_start "$T/storage"

snapshot_registry "$DREG_URL" "$T/snap.dreg" $refs
http GET "$DREG_URL/v2/_catalog"
json_get '.repositories[]' | LC_ALL=C sort > "$T/snap.dreg/catalog"
if ! diff -r "$T/snap.regd" "$T/snap.dreg" > "$T/snap.diff"; then
	head -n 40 "$T/snap.diff" >&2
	fail "docker-registry serves regd's storage differently"
fi

dreg=docker://${DREG_URL#http://}
sk copy --all --src-tls-verify=false "$dreg/lib/multi:v1" "oci:$T/back:v1"
check_eq "$(jq -r '.manifests[0].digest' "$T/back/index.json")" "$multi" \
    "index digest pulled from docker-registry"
for f in "$T"/multi/blobs/sha256/*; do
	cmp -s "$f" "$T/back/blobs/sha256/${f##*/}" ||
	    fail "blob ${f##*/} differs when pulled from docker-registry"
done
sk copy --src-tls-verify=false "$dreg/lib/one:v2" "oci:$T/back1:v2"
check_eq "$(jq -r '.manifests[0].digest' "$T/back1/index.json")" "$one" \
    "image digest pulled from docker-registry"
exit 0
