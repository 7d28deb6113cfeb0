#!/bin/bash
# regress: long 50
#
# Repository names outside the spec's grammar (.., %2e%2e, upper case, an
# empty component, a leading separator, 256 characters) are refused on
# every route: 400 NAME_INVALID, or a 404 with the error JSON where the
# route cannot match; nothing is created anywhere, in the storage root or
# outside it.

. ./regress/lib.sh

regd_start

mark=regdesc$$x$RANDOM
make_blob 100 "$T/blob"
d=$(sha "$T/blob")
push_image lib/ok v1
type=application/vnd.oci.image.manifest.v1+json
long=$(printf 'a%.0s' $(seq 256))
touch "$T/before"
find "$T/storage" | sort > "$T/tree.before"

# refused HOW URL [curl args]: the answer is a 400 NAME_INVALID or a 404
# with the error JSON.
refused()
{
	local what=$1 code

	shift
	http "$@" --path-as-is
	case $STATUS in
	400)
		expect_error 400 NAME_INVALID
		;;
	404)
		code=$(jq -r '.errors[0].code' < "$BODY" 2>/dev/null)
		[ -n "$code" ] && [ "$code" != null ] ||
		    fail "$what: 404 without error JSON: $(head -c 200 "$BODY")"
		expect_error 404 "$code"
		;;
	*)
		fail "$what: status $STATUS: $(head -c 200 "$BODY")"
		;;
	esac
}

for name in "lib/../$mark" "lib/../../../../../../../../../tmp/$mark" \
    "lib/%2e%2e/$mark" "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/$mark" \
    "lib/%2E%2E/%2E%2E/$mark" "lib%2f..%2f$mark" "lib/./$mark" \
    "Upper/$mark" "lib/$mark/UPPER" "lib//$mark" "/lib/$mark" \
    "lib/$mark/" "-lib/$mark" "lib/$mark-" "lib/$mark..x" \
    "lib/$mark%00x" "$long" "$long/$mark"; do
	refused "GET tags of '$name'" GET "$URL/v2/$name/tags/list"
	refused "GET manifest of '$name'" GET "$URL/v2/$name/manifests/v1" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	refused "PUT manifest of '$name'" PUT "$URL/v2/$name/manifests/v1" \
	    -H "Content-Type: $type" --data-binary "@$IMG_MANIFEST"
	refused "GET blob of '$name'" GET "$URL/v2/$name/blobs/$d"
	refused "POST upload to '$name'" POST \
	    "$URL/v2/$name/blobs/uploads/?digest=$d" \
	    -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$T/blob"
	refused "POST session to '$name'" POST \
	    "$URL/v2/$name/blobs/uploads/" -H 'Content-Length: 0'
	refused "mount into '$name'" POST \
	    "$URL/v2/$name/blobs/uploads/?mount=$IMG_LAYER&from=lib/ok" \
	    -H 'Content-Length: 0'
	refused "DELETE manifest of '$name'" DELETE \
	    "$URL/v2/$name/manifests/$IMG_DIGEST"
done

# A valid name with an invalid `from`.
http POST "$URL/v2/lib/fine/blobs/uploads/?mount=$IMG_LAYER&from=lib/../ok" \
    -H 'Content-Length: 0'
case $STATUS in
202 | 400)
	;;
*)
	fail "mount from 'lib/../ok': status $STATUS"
	;;
esac

# Nothing outside the storage root, nothing new inside it but uploads.
found=$(find "$T" /tmp -maxdepth 4 -name "*$mark*" 2>/dev/null)
[ -z "$found" ] || fail "files created for refused names: $found"
found=$(find / -xdev -maxdepth 3 -name "*$mark*" 2>/dev/null)
[ -z "$found" ] || fail "files created for refused names: $found"
find "$T/storage" | sort > "$T/tree.after"
new=$(comm -13 "$T/tree.before" "$T/tree.after" |
    grep -v '/repositories/lib/fine/' | grep -v '/repositories/lib/fine$')
[ -z "$new" ] || fail "new paths in the storage root: $new"

# The valid neighbour still works.
check_manifest lib/ok v1 "$IMG_MANIFEST" "$type"
exit 0
