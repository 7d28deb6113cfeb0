#!/bin/bash
#
# Well-formed JSON that is not a manifest of its media type is refused
# with 400 MANIFEST_INVALID (Distribution answers 500 to some of these):
# schemaVersion other than 2, no config, layers that are not a list, a
# descriptor whose digest is not a digest (for that one DIGEST_INVALID or
# MANIFEST_BLOB_UNKNOWN are as good).

. ./regress/lib.sh

regd_start

push_image lib/schema good
type=application/vnd.oci.image.manifest.v1+json

n=0
for filter in '.schemaVersion = 3' 'del(.config)' '.layers = "none"' \
    '.layers[0].digest = "sha256:totallywrong"' '.config.size = "big"'; do
	n=$((n + 1))
	jq -c "$filter" "$IMG_MANIFEST" > "$T/bad$n"
	http PUT "$URL/v2/lib/schema/manifests/bad$n" -H "Content-Type: $type" \
	    --data-binary "@$T/bad$n"
	[ "$STATUS" = 400 ] ||
	    fail "PUT of the manifest made by '$filter': status $STATUS"
	case $filter in
	*totallywrong*)
		code=$(jq -r '.errors[0].code' < "$BODY" 2>/dev/null)
		case $code in
		DIGEST_INVALID | MANIFEST_BLOB_UNKNOWN)
			expect_error 400 "$code"
			;;
		*)
			expect_error 400 MANIFEST_INVALID
			;;
		esac
		;;
	*)
		expect_error 400 MANIFEST_INVALID
		;;
	esac
	http GET "$URL/v2/lib/schema/manifests/bad$n" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 404 "GET of the manifest refused for $filter"
done
check_manifest lib/schema good "$IMG_MANIFEST" "$type"
exit 0
