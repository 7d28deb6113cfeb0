#!/bin/bash
#
# On a storage directory Debian's docker-registry (CNCF Distribution 2.8)
# wrote -- images pushed by skopeo under tags, a two-platform index, a
# Docker schema 2 image, an image deleted by digest, an image and a
# referrer pushed by digest only, a loose blob -- "regctl gc -n" lists
# exactly the blobs "docker-registry garbage-collect --dry-run" calls
# eligible; with --untagged regd removes a subset of what
# "garbage-collect --delete-untagged" would (never the children of a
# tagged index, nor a referrer of a tagged image).  After regd's gc,
# Distribution finds nothing more to collect and serves every kept image.

. ./regress/lib.sh

printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"
sk()
{
	skopeo --policy "$T/policy.json" "$@" > "$T/sk.out" 2>&1 ||
	    fail "skopeo $*: $(tail -5 "$T/sk.out")"
}
# Distribution wants POST then PUT for a blob.
dpush_blob()
{
	upload_start "$1"
	http PUT "$(add_query "$LOC" "digest=$(sha "$2")")" \
	    -H 'Content-Type: application/octet-stream' --data-binary "@$2"
	check_eq "$STATUS" 201 "docker-registry blob upload"
}
mt=application/vnd.oci.image.manifest.v1+json

mkdir -p "$T/storage"
dreg_start "$T/storage"
make_oci_layout "$T/one" one amd64
make_oci_layout "$T/multi" multi amd64 arm64
make_oci_layout "$T/gone" gone arm64
make_oci_layout "$T/bydigest" bydigest amd64
reg=${DREG_URL#http://}
sk copy --dest-tls-verify=false "oci:$T/one:one" "docker://$reg/lib/one:v1"
sk copy --dest-tls-verify=false "oci:$T/one:one" "docker://$reg/lib/one:v2"
sk copy --all --dest-tls-verify=false "oci:$T/multi:multi" \
    "docker://$reg/lib/multi:v1"
sk copy --format v2s2 --dest-tls-verify=false "oci:$T/one:one" \
    "docker://$reg/lib/docker:v1"
sk copy --dest-tls-verify=false "oci:$T/gone:gone" "docker://$reg/lib/one:gone"
gone=$(jq -r '.manifests[0].digest' "$T/gone/index.json")
one=$(jq -r '.manifests[0].digest' "$T/one/index.json")
bydigest=$(jq -r '.manifests[0].digest' "$T/bydigest/index.json")
sk copy --dest-tls-verify=false "oci:$T/bydigest:bydigest" \
    "docker://$reg/lib/one@$bydigest"
URL=$DREG_URL
http DELETE "$URL/v2/lib/one/manifests/$gone"
check_eq "$STATUS" 202 "docker-registry's DELETE of a manifest"
make_blob 1234 "$T/loose"
dpush_blob lib/one "$T/loose"
printf '{}' > "$T/empty"
dpush_blob lib/one "$T/empty"
make_blob 300 "$T/sig"
dpush_blob lib/one "$T/sig"
jq -cn --arg mt "$mt" --arg e "$(sha "$T/empty")" --arg s "$(sha "$T/sig")" \
    --arg subj "$one" --argjson ss "$(stat -c %s "$T/one/blobs/sha256/${one#sha256:}")" \
    '{ schemaVersion: 2, mediaType: $mt,
	config: { mediaType: "application/vnd.example.sig", digest: $e,
	    size: 2 },
	layers: [ { mediaType: "application/octet-stream", digest: $s,
	    size: 300 } ],
	subject: { mediaType: $mt, digest: $subj, size: $ss } }' > "$T/ref"
push_manifest lib/one "$(sha "$T/ref")" "$T/ref" "$mt"
dreg_stop

# eligible FILE [-m]: what Distribution's dry run would delete, sorted,
# into FILE.  REGISTRY_* variables would be read as its configuration.
eligible()
{
	local out=$1

	shift
	env -u REGISTRY_AUTH_FILE docker-registry garbage-collect --dry-run \
	    "$@" "$T/dreg.yml" > "$T/dgc.out" 2>&1 ||
	    fail "garbage-collect: $(tail -3 "$T/dgc.out")"
	awk '/^blob eligible for deletion:/ { print $5 }' "$T/dgc.out" |
	    sort > "$out"
}
eligible "$T/dist"
eligible "$T/dist_m" -m
dist=$(cat "$T/dist")
dist_m=$(cat "$T/dist_m")
[ -n "$dist" ] || fail "Distribution finds nothing to collect: $(cat "$T/dgc.out")"

URL=
regd_start 'gc grace 0'
$REGCTL gc -n > "$T/gc" || fail "regctl gc -n: $(cat "$T/gc")"
mine=$(awk '$1 == "blob" { print $2 }' "$T/gc" | sort)
check_eq "$mine" "$dist" "gc -n against garbage-collect --dry-run"
note "both collect $(echo "$dist" | wc -l) blobs"

$REGCTL gc -n --untagged > "$T/gcu" || fail "regctl gc -n --untagged"
mine_u=$(awk '$1 == "blob" { print $2 }' "$T/gcu" | sort)
more=$(comm -23 <(echo "$mine_u") <(echo "$dist_m"))
[ -z "$more" ] || fail "gc --untagged would remove more than Distribution: $more"
echo "$mine_u" | grep -qx "$bydigest" ||
    fail "gc --untagged keeps the untagged manifest $bydigest"
echo "$mine_u" | grep -qx "$(sha "$T/ref")" &&
    fail "gc --untagged would remove a referrer of a tagged image"
multi_children=$(jq -r '.manifests[].digest' \
    "$T/multi/blobs/sha256/$(jq -r '.manifests[0].digest' \
    "$T/multi/index.json" | cut -c8-)")
for c in $multi_children; do
	echo "$mine_u" | grep -qx "$c" &&
	    fail "gc --untagged would remove the index child $c"
done
note "--untagged: regd $(echo "$mine_u" | wc -l) blobs," \
    "Distribution $(echo "$dist_m" | wc -l)"

$REGCTL gc > "$T/real" || fail "regctl gc: $(cat "$T/real")"
check_eq "$(awk '$1 == "blob" { print $2 }' "$T/real" | sort)" "$dist" \
    "blobs gc removed"
regd_stop
eligible "$T/dist_after"
check_eq "$(cat "$T/dist_after")" "" "what Distribution finds after regd's gc"

dreg_start "$T/storage"
URL=$DREG_URL
for ref in lib/one:v1 lib/one:v2 lib/multi:v1 lib/docker:v1 \
    "lib/one:$bydigest" "lib/one:$(sha "$T/ref")" $(for c in \
    $multi_children; do echo "lib/multi:$c"; done); do
	http GET "$URL/v2/${ref%%:*}/manifests/${ref#*:}" \
	    -H "Accept: $mt, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json"
	check_eq "$STATUS" 200 "docker-registry serves $ref after regd's gc"
	for b in $(jq -r '(.config.digest // empty), (.layers[]?.digest)' "$BODY"); do
		http HEAD "$URL/v2/${ref%%:*}/blobs/$b"
		check_eq "$STATUS" 200 "docker-registry serves blob $b of $ref"
	done
done
http GET "$URL/v2/lib/one/manifests/$gone"
check_eq "$STATUS" 404 "the deleted image"
