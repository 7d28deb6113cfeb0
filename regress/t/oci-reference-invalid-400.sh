#!/bin/bash
#
# A manifest reference that is neither a tag nor a digest never errs with
# a 500.  A digest that is no digest (sha256:totallywrong, a short hex, an
# unknown algorithm's junk) answers 400 DIGEST_INVALID to GET, HEAD, PUT
# and DELETE.  A name that is no tag (as the conformance suite's
# .INVALID_MANIFEST_NAME, 129 or 300 characters, a leading '-', a space)
# names no manifest: GET, HEAD and DELETE answer 404 MANIFEST_UNKNOWN, a
# PUT 400 TAG_INVALID, each with the spec's error JSON.

. ./regress/lib.sh

regd_start

push_image lib/ref v1
type=application/vnd.oci.image.manifest.v1+json
long=$(printf 'a%.0s' $(seq 129))
longer=$(printf 'c%.0s' $(seq 300))

for ref in sha256:totallywrong sha256:abc123 \
    "sha256:$(printf 'A%.0s' $(seq 64))x" "sha256:" "foo:bar:baz"; do
	http GET "$URL/v2/lib/ref/manifests/$ref" -H "Accept: $ACCEPT_MANIFESTS"
	expect_error 400 DIGEST_INVALID
	http HEAD "$URL/v2/lib/ref/manifests/$ref" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 400 "HEAD manifests/$ref"
	http PUT "$URL/v2/lib/ref/manifests/$ref" -H "Content-Type: $type" \
	    --data-binary "@$IMG_MANIFEST"
	expect_error 400 DIGEST_INVALID
	http DELETE "$URL/v2/lib/ref/manifests/$ref"
	expect_error 400 DIGEST_INVALID
done

for ref in .INVALID_MANIFEST_NAME "$long" "$longer" "-leading-dash" \
    ".leading-dot" 'a%20space' 'semi%3Bcolon'; do
	http GET "$URL/v2/lib/ref/manifests/$ref" -H "Accept: $ACCEPT_MANIFESTS"
	expect_error 404 MANIFEST_UNKNOWN
	http HEAD "$URL/v2/lib/ref/manifests/$ref" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 404 "HEAD manifests/$ref"
	http DELETE "$URL/v2/lib/ref/manifests/$ref"
	expect_error 404 MANIFEST_UNKNOWN
	http PUT "$URL/v2/lib/ref/manifests/$ref" -H "Content-Type: $type" \
	    --data-binary "@$IMG_MANIFEST"
	expect_error 400 TAG_INVALID
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
