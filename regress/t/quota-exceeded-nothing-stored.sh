#!/bin/bash
#
# "quota 12K on PATTERN": a push that would take a matching repository
# over its quota is refused with 403 and a DENIED error body, whether the
# blob comes in one POST, in chunks or as a cross-repository mount, and a
# manifest that does not fit is refused too; nothing of a refused push is
# left on disk (no blob, no link, no upload).  Repositories the pattern
# does not match are not limited, and the limit counts a blob once.

. ./regress/lib.sh

regd_start 'quota 12K on "q/*"'
V2=$T/storage/docker/registry/v2

# denied WHAT: the last answer was 403 with a DENIED error naming quota.
denied()
{
	check_eq "$STATUS" 403 "$1"
	check_eq "$(json_get '.errors[0].code')" DENIED "$1: error code"
	check_match "$(json_get '.errors[0].message')" quota "$1: message"
}

# absent DIGEST: no file of that blob anywhere in the tree.
absent()
{
	local f

	f=$(find "$V2" -path "*${1#sha256:}*")
	[ -z "$f" ] || fail "refused blob $1 left files: $f"
}

make_blob 5000 "$T/b1"
make_blob 5000 "$T/b2"
make_blob 3000 "$T/b3"
push_blob q/a "$T/b1"
push_blob q/a "$T/b2"
# The same blob again does not count twice.
push_blob q/a "$T/b1"

# Monolithic POST over the quota.
http POST "$URL/v2/q/a/blobs/uploads/?digest=$(sha "$T/b3")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/b3"
denied "monolithic upload over quota"
absent "$(sha "$T/b3")"
http HEAD "$URL/v2/q/a/blobs/$(sha "$T/b3")"
check_eq "$STATUS" 404 "HEAD of the refused blob"

# POST, PATCH over the quota: the bytes are counted as they come, and
# the session ends.
upload_start q/a
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/b3"
denied "chunked upload over quota"
absent "$(sha "$T/b3")"
http PUT "$(add_query "$LOC" "digest=$(sha "$T/b3")")" -H 'Content-Length: 0'
check_eq "$STATUS" 404 "PUT to the refused session"
left=$(ls "$V2/repositories/q/a/_uploads" 2>/dev/null)
check_eq "$left" "" "uploads left after refused pushes"

# A mount that would not fit is not done: the client gets a session.
push_blob r/x "$T/b3"
http POST "$URL/v2/q/a/blobs/uploads/?mount=$(sha "$T/b3")&from=r/x" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 202 "mount over quota falls back to an upload session"
[ -e "$V2/repositories/q/a/_layers/sha256/$(sha "$T/b3" | cut -c8-)" ] &&
    fail "the refused mount linked the blob"

# A manifest that does not fit: 10000 + 1900 bytes of blobs are in, the
# manifest's ~400 bytes are not.
make_blob 1900 "$T/cfg"
push_blob q/a "$T/cfg"
jq -cn --arg c "$(sha "$T/cfg")" --arg l "$(sha "$T/b1")" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: 1900 },
	layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar",
	    digest: $l, size: 5000 } ],
	annotations: { "padding": "'"$(head -c 300 /dev/zero | tr '\0' x)"'" } }' \
    > "$T/manifest"
http PUT "$URL/v2/q/a/manifests/v1" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$T/manifest"
denied "manifest over quota"
absent "$(sha "$T/manifest")"
http GET "$URL/v2/q/a/manifests/v1"
check_eq "$STATUS" 404 "the refused manifest's tag"

# Another repository of the pattern has its own quota; others have none.
push_blob q/b "$T/b1"
push_blob q/b "$T/b3"
make_blob 40000 "$T/big"
push_blob r/x "$T/big"
$REGCTL show usage q/a > "$T/usage" || fail "show usage q/a"
check_eq "$(awk '$1 == "q/a" { print $2 }' "$T/usage")" 11900 \
    "bytes q/a references"
