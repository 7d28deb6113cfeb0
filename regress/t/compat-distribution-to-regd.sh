#!/bin/bash
# regress: long 30
#
# What skopeo pushed to Debian's docker-registry (CNCF Distribution) --
# an OCI image under two tags, a two-platform index, a Docker schema 2
# image, and an image then deleted by digest -- is served byte for byte
# the same by regd from the same storage directory: manifests, media
# types, digests, blobs, tags, the deletion; regd can add to that tree,
# and docker-registry then serves regd's addition too.

. ./regress/lib.sh

printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"
sk()
{
	skopeo --policy "$T/policy.json" "$@" > "$T/sk.out" 2>&1 ||
	    fail "skopeo $*: $(tail -5 "$T/sk.out")"
}

mkdir -p "$T/dist"
dreg_start "$T/dist"

make_oci_layout "$T/one" one amd64
make_oci_layout "$T/multi" multi amd64 arm64
make_oci_layout "$T/gone" gone arm64
make_oci_layout "$T/new" new amd64
reg=${DREG_URL#http://}
sk copy --dest-tls-verify=false "oci:$T/one:one" "docker://$reg/lib/one:v1"
sk copy --dest-tls-verify=false "oci:$T/one:one" "docker://$reg/lib/one:v2"
sk copy --all --dest-tls-verify=false "oci:$T/multi:multi" \
    "docker://$reg/lib/multi:v1"
sk copy --format v2s2 --dest-tls-verify=false "oci:$T/one:one" \
    "docker://$reg/lib/docker:v1"
sk copy --dest-tls-verify=false "oci:$T/gone:gone" "docker://$reg/lib/one:gone"
one=$(jq -r '.manifests[0].digest' "$T/one/index.json")
multi=$(jq -r '.manifests[0].digest' "$T/multi/index.json")
gone=$(jq -r '.manifests[0].digest' "$T/gone/index.json")
http DELETE "$DREG_URL/v2/lib/one/manifests/$gone"
check_eq "$STATUS" 202 "docker-registry's DELETE of a manifest"

refs="lib/one@v1 lib/one@v2 lib/one@$one lib/one@gone lib/one@$gone
lib/multi@v1 lib/multi@$multi lib/docker@v1"
snapshot_registry "$DREG_URL" "$T/snap.dreg" $refs
http GET "$DREG_URL/v2/_catalog"
json_get '.repositories[]' | LC_ALL=C sort > "$T/snap.dreg/catalog"
check_eq "$(paste -sd, "$T/snap.dreg/catalog")" lib/docker,lib/multi,lib/one \
    "docker-registry's catalog"
check_eq "$(grep -h '^status' "$T"/snap.dreg/*.meta | sort | uniq -c |
    awk '{ printf "%s:%s ", $3, $1 }')" "200:8 404:2 " \
    "manifests docker-registry serves and does not"
if grep -q 'blob .* status [^2]' "$T"/snap.dreg/*.meta; then
	fail "docker-registry did not serve every blob"
fi
# Distribution's 404 bodies are its own; compare status only for those.
for f in "$T"/snap.dreg/*.meta; do
	if grep -q '^status 404' "$f"; then
		: > "${f%.meta}.manifest"
		sed -i -e 's/^type .*/type -/' "$f"
	fi
done
dreg_stop

mv "$T/dist" "$T/storage"
regd_start
snapshot_registry "$URL" "$T/snap.regd" $refs
http GET "$URL/v2/_catalog"
json_get '.repositories[]' | LC_ALL=C sort > "$T/snap.regd/catalog"
for f in "$T"/snap.regd/*.meta; do
	if grep -q '^status 404' "$f"; then
		: > "${f%.meta}.manifest"
		sed -i -e 's/^type .*/type -/' "$f"
	fi
done
if ! diff -r "$T/snap.dreg" "$T/snap.regd" > "$T/snap.diff"; then
	head -n 40 "$T/snap.diff" >&2
	fail "regd serves docker-registry's storage differently"
fi

reg=127.0.0.1:$PORT
sk copy --all --src-tls-verify=false "docker://$reg/lib/multi:v1" \
    "oci:$T/back:v1"
check_eq "$(jq -r '.manifests[0].digest' "$T/back/index.json")" "$multi" \
    "index digest pulled from regd"
for f in "$T"/multi/blobs/sha256/*; do
	cmp -s "$f" "$T/back/blobs/sha256/${f##*/}" ||
	    fail "blob ${f##*/} differs when pulled from regd"
done

# regd adds to Distribution's tree, and Distribution serves the addition.
sk copy --dest-tls-verify=false "oci:$T/new:new" "docker://$reg/lib/one:v3"
new=$(jq -r '.manifests[0].digest' "$T/new/index.json")
regd_stop
dreg_start "$T/storage"
sk copy --src-tls-verify=false "docker://${DREG_URL#http://}/lib/one:v3" \
    "oci:$T/back3:v3"
check_eq "$(jq -r '.manifests[0].digest' "$T/back3/index.json")" "$new" \
    "digest of regd's addition pulled from docker-registry"
for f in "$T"/new/blobs/sha256/*; do
	cmp -s "$f" "$T/back3/blobs/sha256/${f##*/}" ||
	    fail "blob ${f##*/} of regd's addition differs"
done
exit 0
