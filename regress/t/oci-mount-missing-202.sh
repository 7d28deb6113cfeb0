#!/bin/bash
#
# A mount the registry cannot do starts a normal upload instead: 202 with
# Location and Docker-Upload-UUID, for a blob nowhere in the registry and
# for a blob the named `from` repository does not have; the upload then
# completes like any other.

. ./regress/lib.sh

regd_start

make_blob 3000 "$T/blob"
d=$(sha "$T/blob")
make_blob 3000 "$T/other"
push_blob lib/src "$T/other"

# mount_202 REPO QUERY
mount_202()
{
	http POST "$URL/v2/$1/blobs/uploads/?$2" -H 'Content-Length: 0'
	check_eq "$STATUS" 202 "POST ?$2"
	[ -n "$(hdr Location)" ] || fail "POST ?$2: no Location"
	[ -n "$(hdr Docker-Upload-UUID)" ] ||
	    fail "POST ?$2: no Docker-Upload-UUID"
	LOC=$(loc_url "$(hdr Location)")
	http GET "$URL/v2/$1/blobs/$d"
	check_eq "$STATUS" 404 "GET of the blob after POST ?$2"
	http PUT "$(add_query "$LOC" "digest=$d")" \
	    -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$T/blob"
	check_eq "$STATUS" 201 "upload after POST ?$2"
	http GET "$URL/v2/$1/blobs/$d"
	check_eq "$STATUS" 200 "GET after the upload"
	cmp -s "$BODY" "$T/blob" || fail "blob differs"
}

# Nowhere in the registry.
mount_202 lib/dst1 "mount=$d&from=lib/src"
# Now lib/dst1 has it, lib/src still does not: `from` names the wrong one.
mount_202 lib/dst2 "mount=$d&from=lib/src"
# A `from` that does not exist.
mount_202 lib/dst3 "mount=$d&from=lib/nosuchrepo"
exit 0
