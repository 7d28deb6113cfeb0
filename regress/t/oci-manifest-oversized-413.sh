#!/bin/bash
#
# Manifests up to 4 MiB are accepted (the spec asks for at least 4 MiB);
# 16 KiB and 16 KiB + 1 (inline and descriptor answers) come back whole;
# one byte more is refused with 413 and not stored, and the daemon keeps
# serving on a new connection.

. ./regress/lib.sh

regd_start

push_image lib/big small
type=application/vnd.oci.image.manifest.v1+json

# pad SIZE OUT: the image manifest grown to exactly SIZE bytes with an
# annotation.
pad()
{
	local base fill

	base=$(jq -c '.annotations = { "pad": "" }' "$IMG_MANIFEST" |
	    tr -d '\n' | wc -c)
	fill=$(($1 - base))
	head -c "$fill" /dev/zero | tr '\0' x > "$T/fill"
	jq -c --rawfile p "$T/fill" \
	    '.annotations = { "pad": $p }' "$IMG_MANIFEST" | tr -d '\n' > "$2"
	check_eq "$(stat -c %s "$2")" "$1" "size of the padded manifest"
}

# Up to 16 KiB storage sends a manifest inside its answer, above that as
# a descriptor: both sides of the line come back byte for byte.
pad 16384 "$T/inline"
put_manifest_ok lib/big inline "$T/inline" "$type"
check_manifest lib/big inline "$T/inline" "$type"
pad 16385 "$T/fd"
put_manifest_ok lib/big fd "$T/fd" "$type"
check_manifest lib/big fd "$T/fd" "$type"

pad 4194304 "$T/max"
put_manifest_ok lib/big max "$T/max" "$type"
check_manifest lib/big max "$T/max" "$type"

pad 4194305 "$T/over"
http PUT "$URL/v2/lib/big/manifests/over" -H "Content-Type: $type" \
    --data-binary "@$T/over"
check_eq "$STATUS" 413 "PUT of a manifest of 4 MiB + 1"
http GET "$URL/v2/lib/big/manifests/over" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "GET of the oversized manifest"
http GET "$URL/v2/lib/big/manifests/$(sha "$T/over")" \
    -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "GET by digest of the oversized manifest"

http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ after the 413"
exit 0
