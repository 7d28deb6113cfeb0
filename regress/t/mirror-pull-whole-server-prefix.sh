#!/bin/bash
# Mirror mode against a real upstream (Debian's docker-registry, CNCF
# Distribution): the whole server mirrors it with names unchanged, and a
# prefix maps /v2/hub/NAME to its NAME.  skopeo copies a two-platform
# index through both with the upstream's digests; manifests and blobs
# have the upstream's bytes; a warm pull asks the upstream nothing;
# pushes are refused with 405 UNSUPPORTED; an unknown tag is the spec's
# 404 MANIFEST_UNKNOWN; the catalog's Regd-Mirror headers say it shows
# the cache of both lines; regctl show mirror counts it all, and the
# metrics listener gives the same counters by upstream.
. regress/lib.sh
. regress/mirrorlib.sh

skopeo_setup

mkdir -p "$T/up"
dreg_start "$T/up"
up=${DREG_URL#http://}
make_oci_layout "$T/multi" multi amd64 arm64
sk copy --all --dest-tls-verify=false "oci:$T/multi:multi" \
    "docker://$up/library/alpine:3.20"
top=$(curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -D - -o "$T/up-index" "$DREG_URL/v2/library/alpine/manifests/3.20" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" {
    print $2 }')
[ -n "$top" ] || fail "no digest from the upstream"

MPORT=$(free_port)
mirror_start "$DREG_URL" '	mirror "up"
	mirror "up" prefix "hub"' '	tag ttl 1h' "metrics {
	listen on 127.0.0.1 port $MPORT
}"
reg=127.0.0.1:$PORT

for name in library/alpine hub/library/alpine; do
	http GET "$URL/v2/$name/manifests/3.20" \
	    -H 'Accept: application/vnd.oci.image.index.v1+json'
	check_eq "$STATUS" 200 "GET $name index by tag"
	check_eq "$(hdr Docker-Content-Digest)" "$top" "$name index digest"
	cmp -s "$BODY" "$T/up-index" || fail "$name: index bytes differ"
	rm -rf "$T/back"
	sk copy --all --src-tls-verify=false "docker://$reg/$name:3.20" \
	    "oci:$T/back:x"
	got=$(jq -r '.manifests[0].digest' "$T/back/index.json")
	check_eq "$got" "$top" "$name: skopeo's copy of the index"
	for b in "$T"/back/blobs/sha256/*; do
		check_eq "$(sha "$b")" "sha256:${b##*/}" "blob ${b##*/}"
		cmp -s "$b" "$T/up/docker/registry/v2/blobs/sha256/$(basename \
		    "$b" | cut -c1-2)/${b##*/}/data" ||
		    fail "$name: ${b##*/} differs from the upstream's"
	done
done

# Warm: the same again, nothing more asked upstream.
before=$(grep -c '"GET /v2/' "$T/dreg.log")
rm -rf "$T/back"
sk copy --all --src-tls-verify=false "docker://$reg/hub/library/alpine@$top" \
    "oci:$T/back:x"
after=$(grep -c '"GET /v2/' "$T/dreg.log")
check_eq "$after" "$before" "upstream GETs for a warm pull by digest"

# Read-only to clients.
http POST "$URL/v2/library/alpine/blobs/uploads/"
expect_error 405 UNSUPPORTED
http PUT "$URL/v2/hub/library/alpine/manifests/x" \
    -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
    --data-binary "@$T/up-index"
expect_error 405 UNSUPPORTED
# A name beside the prefix is the whole-server mirror's: hubx upstream.
http GET "$URL/v2/hubx/manifests/1"
expect_error 404 MANIFEST_UNKNOWN

# Listings say they show the cache: the catalog for both mirror lines.
http GET "$URL/v2/_catalog"
check_eq "$(json_get '.repositories | join(" ")')" \
    "hub/library/alpine library/alpine" "catalog"
check_eq "$(tr -d '\r' < "$HDRS" | awk -F': ' '
    tolower($1) == "regd-mirror" { print $2 }' | sort | paste -sd '|')" \
    'up; cached|up; cached; prefix="hub/"' "the catalog's Regd-Mirror headers"

# Unknown upstream tag: the spec's error, not a hang.
http GET "$URL/v2/library/alpine/manifests/nope" --max-time 10
expect_error 404 MANIFEST_UNKNOWN

# regctl show mirror: hits, misses, errors and bytes of the upstream.
out=$($REGCTL show mirror) || fail "regctl show mirror: $out"
note "$out"
set -- $(echo "$out" | awk '$1 == "up"')
check_eq "$1" up "regctl show mirror names the upstream"
[ "$2" -gt 0 ] && [ "$3" -gt 0 ] && [ "$4" -eq 2 ] && [ "$5" -gt 0 ] &&
    [ "$6" -gt 0 ] && [ "$7" -gt 0 ] || fail "counters: $out"
curl -sf -o "$T/metrics" "http://127.0.0.1:$MPORT/metrics" ||
    fail "no metrics"
i=2
for m in hits misses errors fetched_bytes served_bytes stored_bytes; do
	eval "want=\${$i}"
	got=$(awk -v n="regd_mirror_${m}_total{upstream=\"up\"}" \
	    '$1 == n { print $2 }' "$T/metrics")
	check_eq "$got" "$want" "regd_mirror_${m}_total against show mirror"
	i=$((i + 1))
done
regd_stop
