#!/bin/bash
#
# The media type served for a manifest comes from the manifest itself,
# as Distribution does: its "mediaType" field, or, without one, an OCI
# index when it has "manifests" and an OCI image manifest otherwise.  It
# is never the Content-Type of whoever pushed the same bytes first, in
# this repository or another one.

. ./regress/lib.sh

regd_start
OCI=application/vnd.oci.image.manifest.v1+json
DOCKER=application/vnd.docker.distribution.manifest.v2+json

make_blob 1000 "$T/cfg"
push_blob a/one "$T/cfg"
push_blob b/two "$T/cfg"
# No mediaType field: the same bytes pushed with two Content-Types.
jq -cn --arg c "$(sha "$T/cfg")" '{ schemaVersion: 2,
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: 1000 }, layers: [] }' > "$T/m"
push_manifest a/one v1 "$T/m" "$DOCKER"
push_manifest b/two v1 "$T/m" "$OCI"
for r in b/two a/one; do
	http GET "$URL/v2/$r/manifests/v1"
	check_eq "$STATUS" 200 "GET in $r"
	check_eq "$(hdr Content-Type)" "$OCI" "Content-Type in $r"
	http HEAD "$URL/v2/$r/manifests/$(sha "$T/m")"
	check_eq "$(hdr Content-Type)" "$OCI" "Content-Type of HEAD in $r"
done

# With a mediaType field that is what every repository gets.
jq -c --arg t "$DOCKER" '. + { mediaType: $t }' "$T/m" > "$T/md"
push_manifest a/one v2 "$T/md" "$DOCKER"
push_manifest b/two v2 "$T/md" "$DOCKER"
http GET "$URL/v2/b/two/manifests/v2"
check_eq "$(hdr Content-Type)" "$DOCKER" "Content-Type from mediaType"
regd_stop
exit 0
