#!/bin/bash
#
# "regctl rm REPO" removes a repository while regd serves: its tags,
# manifests and blobs are unknown at once, it leaves the catalog, a
# nested repository under it and other repositories are untouched, a
# second rm or an unknown name fails (exit 1), and the blobs only it
# used go at the next gc while shared ones stay.  The name can be pushed
# to again afterwards.

. ./regress/lib.sh

regd_start 'gc grace 0'

push_image lib/app v1
app_m=$IMG_DIGEST
app_l=$IMG_LAYER
app_c=$IMG_CONFIG
app_cs=$(stat -c %s "$(dirname "$IMG_MANIFEST")/config")
push_image lib/app/sub v1
sub_m=$IMG_DIGEST
http POST "$URL/v2/lib/other/blobs/uploads/?mount=$app_c&from=lib/app" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "mount of lib/app's config into lib/other"
make_blob 900 "$T/l2"
push_blob lib/other "$T/l2"
jq -cn --arg c "$app_c" --argjson cs "$app_cs" \
    --arg l "$(sha "$T/l2")" '{ schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: $cs },
	layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar",
	    digest: $l, size: 900 } ] }' > "$T/om"
push_manifest lib/other v1 "$T/om" application/vnd.oci.image.manifest.v1+json
upload_start lib/app

$REGCTL rm lib/app > "$T/rm"
check_eq "$?" 0 "regctl rm exit status"
grep -q '^removed lib/app' "$T/rm" || fail "rm message: $(cat "$T/rm")"

http GET "$URL/v2/lib/app/manifests/v1"
check_eq "$STATUS" 404 "tag of the removed repository"
http GET "$URL/v2/lib/app/manifests/$app_m"
check_eq "$STATUS" 404 "manifest of the removed repository"
http HEAD "$URL/v2/lib/app/blobs/$app_l"
check_eq "$STATUS" 404 "blob of the removed repository"
http GET "$URL/v2/lib/app/tags/list"
check_eq "$STATUS" 404 "tags list of the removed repository"
http GET "$LOC"
check_eq "$STATUS" 404 "upload of the removed repository"
http GET "$URL/v2/_catalog"
check_eq "$(json_get '.repositories[]' | paste -sd' ')" "lib/app/sub lib/other" \
    "catalog after rm"
http GET "$URL/v2/lib/app/sub/manifests/v1"
check_eq "$STATUS" 200 "the nested repository"
http HEAD "$URL/v2/lib/other/blobs/$app_c"
check_eq "$STATUS" 200 "a blob lib/other shares"

$REGCTL rm lib/app > "$T/rm2"
check_eq "$?" 1 "second rm exit status"
$REGCTL rm no/such > "$T/rm3"
check_eq "$?" 1 "rm of an unknown repository"
$REGCTL rm 'bad..name' > "$T/rm4"
check_eq "$?" 1 "rm of an invalid name"

$REGCTL gc > "$T/gc" || fail "gc: $(cat "$T/gc")"
check_eq "$(awk '$1 == "blob" { print $2 }' "$T/gc" | sort | paste -sd' ')" \
    "$(printf '%s\n' "$app_m" "$app_l" | sort | paste -sd' ')" \
    "blobs gc removes after rm"
http GET "$URL/v2/lib/other/blobs/$app_c"
check_eq "$STATUS" 200 "the config lib/other's image shares, after gc"

push_image lib/app v2
http GET "$URL/v2/lib/app/tags/list"
check_eq "$(json_get '.tags[]' | paste -sd' ')" v2 "tags of the new lib/app"
