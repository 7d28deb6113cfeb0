#!/bin/bash
# containerd's hosts.toml mirrors send the upstream's host in ?ns=: one
# regd server mirrors two upstreams that way, keeping each under
# HOST/NAME here.  The second upstream sends blobs elsewhere with a 307
# (as Docker Hub does to its CDN), to another host name; the mirror
# follows it.  Without ?ns= (and no other mirror line) the name is an
# ordinary local repository.  Tag lists and the catalog of the mirrors
# say in a Regd-Mirror header that they show the cache.
. regress/lib.sh
. regress/authlib.sh
. regress/mirrorlib.sh

mkdir -p "$T/up"
dreg_start "$T/up"
dport=${DREG_URL##*:}
NPORT=$(free_port)
nginx_start "
	server {
		listen 127.0.0.1:$NPORT;
		client_max_body_size 0;
		location ~ /blobs/sha256: {
			return 307 http://localhost:$dport\$request_uri;
		}
		location / {
			proxy_pass $DREG_URL;
		}
	}"

printf '{"architecture":"amd64","os":"linux"}' > "$T/config"
make_blob 300000 "$T/layer"
up_blob library/alpine "$T/config"
up_blob library/alpine "$T/layer"
jq -cn --arg c "$(sha "$T/config")" --arg l "$(sha "$T/layer")" \
    --argjson cs "$(stat -c %s "$T/config")" \
    --argjson ls "$(stat -c %s "$T/layer")" '{schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json",
    digest: $c, size: $cs}, layers: [{mediaType:
    "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l,
    size: $ls}]}' > "$T/manifest"
up_manifest library/alpine 3.20 "$T/manifest"

regd_start "upstream \"dockerhub\" {
	url \"http://127.0.0.1:$NPORT\"
}
upstream \"quay\" {
	url \"$DREG_URL\"
}" '	mirror "dockerhub" ns "docker.io"
	mirror "quay" ns "quay.io"'

for ns in docker.io quay.io; do
	http GET "$URL/v2/library/alpine/manifests/3.20?ns=$ns" \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	check_eq "$STATUS" 200 "manifest ns=$ns"
	check_eq "$(hdr Docker-Content-Digest)" "$(sha "$T/manifest")" \
	    "manifest digest ns=$ns"
	for f in config layer; do
		http GET "$URL/v2/library/alpine/blobs/$(sha "$T/$f")?ns=$ns"
		check_eq "$STATUS" 200 "$f ns=$ns"
		cmp -s "$BODY" "$T/$f" || fail "$f ns=$ns: bytes differ"
	done
done
# Both kept apart here, under the upstream's host.
http GET "$URL/v2/_catalog"
check_eq "$(json_get '.repositories | join(" ")')" \
    "docker.io/library/alpine quay.io/library/alpine" "catalog"
# Listings say they show the cache: a header per mirror line.
mirror_hdrs()
{
	tr -d '\r' < "$HDRS" | awk -F': ' 'tolower($1) == "regd-mirror" {
	    print $2 }' | sort | paste -sd '|'
}
check_eq "$(mirror_hdrs)" \
    'dockerhub; cached; prefix="docker.io/"|quay; cached; prefix="quay.io/"' \
    "the catalog's Regd-Mirror headers"
http GET "$URL/v2/library/alpine/tags/list?ns=quay.io"
check_eq "$STATUS" 200 "tag list ns=quay.io"
check_eq "$(json_get '.tags | join(" ")')" "3.20" "tags cached from quay"
check_eq "$(mirror_hdrs)" "quay; cached" "the tag list's Regd-Mirror header"
# The redirect was taken: nginx answered 307s, Distribution the GETs.
n=$(grep -c '/blobs/sha256:.* 307 ' "$T/nginx/access.log")
check_eq "$n" 2 "307s from the first upstream"
# No ?ns=: an ordinary (empty) repository.
http GET "$URL/v2/library/alpine/manifests/3.20"
expect_error 404 MANIFEST_UNKNOWN
http GET "$URL/v2/library/alpine/tags/list"
check_eq "$(mirror_hdrs)" "" "Regd-Mirror on a local repository"
http GET "$URL/v2/library/alpine/manifests/3.20?ns=ghcr.io"
expect_error 404 MANIFEST_UNKNOWN
regd_stop
