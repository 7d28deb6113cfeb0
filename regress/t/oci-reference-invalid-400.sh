#!/bin/bash
#
# A manifest reference that is neither a tag nor a digest (sha256:
# totallywrong, a short hex, an unknown algorithm's junk, a tag of 129
# characters or starting with '-' or '.') answers 400 with the spec's
# error JSON for GET, PUT and DELETE, and 400 for HEAD: never a 500.

. ./regress/lib.sh

regd_start

push_image lib/ref v1
type=application/vnd.oci.image.manifest.v1+json
long=$(printf 'a%.0s' $(seq 129))

for ref in sha256:totallywrong sha256:abc123 \
    "sha256:$(printf 'A%.0s' $(seq 64))x" "sha256:" "foo:bar:baz" \
    "$long" "-leading-dash" ".leading-dot" 'a%20space' 'semi%3Bcolon'; do
	http GET "$URL/v2/lib/ref/manifests/$ref" -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 400 "GET manifests/$ref"
	code=$(jq -r '.errors[0].code' < "$BODY" 2>/dev/null)
	[ -n "$code" ] && [ "$code" != null ] ||
	    fail "GET manifests/$ref: no error JSON: $(head -c 200 "$BODY")"
	expect_error 400 "$code"

	http HEAD "$URL/v2/lib/ref/manifests/$ref" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 400 "HEAD manifests/$ref"

	http PUT "$URL/v2/lib/ref/manifests/$ref" -H "Content-Type: $type" \
	    --data-binary "@$IMG_MANIFEST"
	check_eq "$STATUS" 400 "PUT manifests/$ref"
	code=$(jq -r '.errors[0].code' < "$BODY" 2>/dev/null)
	expect_error 400 "$code"

	http DELETE "$URL/v2/lib/ref/manifests/$ref"
	check_eq "$STATUS" 400 "DELETE manifests/$ref"
	code=$(jq -r '.errors[0].code' < "$BODY" 2>/dev/null)
	expect_error 400 "$code"
done

# A 128-character tag is fine.
tag128=$(printf 'b%.0s' $(seq 128))
put_manifest_ok lib/ref "$tag128" "$IMG_MANIFEST" "$type"
check_manifest lib/ref "$tag128" "$IMG_MANIFEST" "$type"

# Blob digests that are not digests.
for ref in sha256:totallywrong sha256:abc123 "sha256:"; do
	http GET "$URL/v2/lib/ref/blobs/$ref"
	case $STATUS in
	400)
		expect_error 400 DIGEST_INVALID
		;;
	404)
		code=$(jq -r '.errors[0].code' < "$BODY" 2>/dev/null)
		expect_error 404 "$code"
		;;
	*)
		fail "GET blobs/$ref: status $STATUS"
		;;
	esac
done
exit 0
