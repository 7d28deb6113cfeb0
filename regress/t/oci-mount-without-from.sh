#!/bin/bash
#
# POST ?mount=<d> without `from`.  With "mount without from" on (the
# default) a blob some repository the client may pull links is mounted:
# 201, Location and Docker-Content-Digest, then served from the target;
# without authentication every repository may be pulled, with Basic logins
# only those the rules give the user.  With it off the same request is an
# ordinary upload: 202 with a Location, which then completes; a mount with
# `from` still mounts.  A blob nobody has is always a 202.

. ./regress/lib.sh
. ./regress/authlib.sh

make_blob 3000 "$T/blob"
d=$(sha "$T/blob")
unknown=sha256:$(printf 'unknown' | sha256sum | cut -d' ' -f1)

# mounted REPO: the last answer mounted $d into REPO.
mounted()
{
	check_eq "$STATUS" 201 "mount of $d into $1"
	check_eq "$(hdr Docker-Content-Digest)" "$d" "Docker-Content-Digest"
	check_eq "$(hdr Location)" "/v2/$1/blobs/$d" "Location"
	http GET "$URL/v2/$1/blobs/$d"
	check_eq "$STATUS" 200 "GET in $1"
	cmp -s "$BODY" "$T/blob" || fail "blob in $1 differs"
}

# upload_only REPO: the last answer started an upload in REPO.
upload_only()
{
	check_eq "$STATUS" 202 "mount into $1 without from"
	check_match "$(hdr Location)" "^(https?://[^/]+)?/v2/$1/blobs/uploads/." \
	    "Location of the 202"
	[ -z "$(hdr Docker-Content-Digest)" ] || fail "a digest with the 202"
}

# Without authentication, on.
regd_start
push_blob lib/src "$T/blob"
http POST "$URL/v2/lib/dst/blobs/uploads/?mount=$d" -H 'Content-Length: 0'
mounted lib/dst
http POST "$URL/v2/lib/dst/blobs/uploads/?mount=$unknown" \
    -H 'Content-Length: 0'
upload_only lib/dst
regd_stop

# With logins, on: alice may pull lib/src.
htpasswd_add alice apass
htpasswd_add bob bpass
rules='	allow pull, push on "lib/*" from user "alice"
	allow pull, push on "bob/*" from user "bob"'
auth_start "$rules"
as_user alice:apass
http POST "$URL/v2/lib/dst2/blobs/uploads/?mount=$d" -H 'Content-Length: 0'
mounted lib/dst2
# bob may not pull lib/: nothing is mounted for him.
as_user bob:bpass
http POST "$URL/v2/bob/dst/blobs/uploads/?mount=$d" -H 'Content-Length: 0'
upload_only bob/dst
regd_stop

# With logins, off.
auth_start "$rules
	mount without from no"
as_user alice:apass
http POST "$URL/v2/lib/dst3/blobs/uploads/?mount=$d" -H 'Content-Length: 0'
upload_only lib/dst3
http GET "$URL/v2/lib/dst3/blobs/$d"
expect_error 404 BLOB_UNKNOWN
LOC=$(loc_url "$(hdr Location)")
http POST "$URL/v2/lib/dst3/blobs/uploads/?mount=$d" -H 'Content-Length: 0'
LOC=$(loc_url "$(hdr Location)")
http PUT "$(add_query "$LOC" "digest=$d")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/blob"
check_eq "$STATUS" 201 "upload after the 202"
http GET "$URL/v2/lib/dst3/blobs/$d"
check_eq "$STATUS" 200 "GET after the upload"
cmp -s "$BODY" "$T/blob" || fail "uploaded blob differs"
http POST "$URL/v2/lib/dst4/blobs/uploads/?mount=$d&from=lib/src" \
    -H 'Content-Length: 0'
mounted lib/dst4
http POST "$URL/v2/lib/dst4/blobs/uploads/?mount=$unknown" \
    -H 'Content-Length: 0'
upload_only lib/dst4
regd_stop
exit 0
