#!/bin/bash
# A tag fetched through the mirror is served from the store for its
# upstream's tag ttl; after it, a HEAD asks the upstream for the tag's
# digest: unchanged, nothing more is fetched; moved, the new manifest is
# fetched and served.  A manifest by digest never goes upstream again.
. regress/lib.sh
. regress/mirrorlib.sh

mkdir -p "$T/up"
dreg_start "$T/up"
mk()
{
	jq -cn --arg n "$1" '{schemaVersion: 2,
	    mediaType: "application/vnd.oci.image.manifest.v1+json",
	    config: {mediaType: "application/vnd.oci.empty.v1+json",
	    digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
	    size: 2}, layers: [], annotations: {n: $n}}' > "$2"
}
printf '{}' > "$T/empty"
up_blob lib/app "$T/empty"
mk one "$T/m1"
mk two "$T/m2"
up_manifest lib/app v1 "$T/m1"

mirror_start "$DREG_URL" '	mirror "up"' '	tag ttl 2'
ups()
{
	grep -c "\"$1 /v2/lib/app/manifests/$2 " "$T/dreg.log"
}
get()
{
	http GET "$URL/v2/lib/app/manifests/$1" \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	check_eq "$STATUS" 200 "GET lib/app:$1"
}

get v1
check_eq "$(hdr Docker-Content-Digest)" "$(sha "$T/m1")" "first pull"
up_manifest lib/app v1 "$T/m2"
get v1
check_eq "$(hdr Docker-Content-Digest)" "$(sha "$T/m1")" "within the ttl"
check_eq "$(ups GET v1)" 1 "upstream GETs within the ttl"
check_eq "$(ups HEAD v1)" 0 "upstream HEADs within the ttl"
sleep 2.5
get v1
check_eq "$(hdr Docker-Content-Digest)" "$(sha "$T/m2")" "after the ttl"
check_eq "$(ups HEAD v1)" 1 "upstream HEADs after the ttl"
check_eq "$(ups GET v1)" 2 "upstream GETs after the tag moved"
sleep 2.5
get v1
check_eq "$(hdr Docker-Content-Digest)" "$(sha "$T/m2")" "unchanged"
check_eq "$(ups HEAD v1)" 2 "upstream HEADs, unchanged"
check_eq "$(ups GET v1)" 2 "upstream GETs, unchanged"
# By digest: for good.
get "$(sha "$T/m1")"
get "$(sha "$T/m1")"
check_eq "$(ups GET "$(sha "$T/m1")")" 0 "upstream GETs by digest"
regd_stop
