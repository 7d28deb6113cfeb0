#!/bin/bash
#
# Space freed by gc counts again: with "quota 12K on q/*", an image that
# does not fit next to another is refused, fits once the other is deleted
# and gc has swept its blobs.  The server-wide "quota 30K" (bytes of all
# blobs on disk, shared ones once) works the same way after "regctl rm"
# of a repository and a gc.

. ./regress/lib.sh

regd_start 'gc grace 0
quota 12K on "q/*"
quota 30K'

make_blob 8000 "$T/l1"
make_blob 8000 "$T/l2"
printf '{"n":1}' > "$T/c1"
printf '{"n":2}' > "$T/c2"

# manifest CONFIG LAYER OUT
manifest()
{
	jq -cn --arg c "$(sha "$1")" --argjson cs "$(stat -c %s "$1")" \
	    --arg l "$(sha "$2")" --argjson ls "$(stat -c %s "$2")" '{
		schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: { mediaType: "application/vnd.oci.image.config.v1+json",
		    digest: $c, size: $cs },
		layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar",
		    digest: $l, size: $ls } ] }' > "$3"
}
mt=application/vnd.oci.image.manifest.v1+json
manifest "$T/c1" "$T/l1" "$T/m1"
manifest "$T/c2" "$T/l2" "$T/m2"

push_blob q/a "$T/c1"
push_blob q/a "$T/l1"
push_manifest q/a v1 "$T/m1" "$mt"
push_blob q/a "$T/c2"
http POST "$URL/v2/q/a/blobs/uploads/?digest=$(sha "$T/l2")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/l2"
check_eq "$STATUS" 403 "second layer over the repository quota"
check_eq "$(json_get '.errors[0].code')" DENIED "error code"

http DELETE "$URL/v2/q/a/manifests/$(sha "$T/m1")"
check_eq "$STATUS" 202 "DELETE of the first image"
$REGCTL gc > "$T/gc1" || fail "regctl gc failed: $(cat "$T/gc1")"
grep -q "^blob $(sha "$T/l1") 8000$" "$T/gc1" ||
    fail "gc did not sweep the first layer: $(cat "$T/gc1")"
# With no grace period, gc took the unreferenced second config as well.
push_blob q/a "$T/c2"
push_blob q/a "$T/l2"
push_manifest q/a v2 "$T/m2" "$mt"
http GET "$URL/v2/q/a/manifests/v2"
check_eq "$STATUS" 200 "the second image after gc"

# Server-wide: 8000 + 7 + ~400 bytes are on disk; 20000 more fit, 30000
# would not.
make_blob 20000 "$T/big"
make_blob 10000 "$T/more"
push_blob r/x "$T/big"
http POST "$URL/v2/r/y/blobs/uploads/?digest=$(sha "$T/more")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/more"
check_eq "$STATUS" 403 "blob over the server quota"
check_eq "$(json_get '.errors[0].code')" DENIED "error code"
check_match "$(json_get '.errors[0].message')" "storage quota" "message"
# A blob already on disk costs nothing more.
http POST "$URL/v2/r/y/blobs/uploads/?mount=$(sha "$T/big")&from=r/x" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "mount of a blob already on disk"

$REGCTL rm r/x > "$T/rm" || fail "regctl rm r/x: $(cat "$T/rm")"
$REGCTL rm r/y > "$T/rm" || fail "regctl rm r/y: $(cat "$T/rm")"
$REGCTL gc > "$T/gc2" || fail "regctl gc failed: $(cat "$T/gc2")"
grep -q "^blob $(sha "$T/big") 20000$" "$T/gc2" ||
    fail "gc did not sweep the removed repository's blob: $(cat "$T/gc2")"
push_blob r/y "$T/more"
