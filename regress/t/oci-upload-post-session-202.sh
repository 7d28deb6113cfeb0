#!/bin/bash
#
# POST /v2/<name>/blobs/uploads/ opens an upload session: 202 with a
# Location naming the session's UUID under the repository, the
# Docker-Upload-UUID header, and Range 0-0 as Distribution sends; two
# sessions get different UUIDs.

. ./regress/lib.sh

regd_start

http POST "$URL/v2/lib/up/blobs/uploads/" -H 'Content-Length: 0'
check_eq "$STATUS" 202 "POST uploads/"
uuid=$(hdr Docker-Upload-UUID)
loc=$(hdr Location)
[ -n "$uuid" ] || fail "no Docker-Upload-UUID header"
[ -n "$loc" ] || fail "no Location header"
check_match "$uuid" '^[A-Za-z0-9_-]{8,}$' "Docker-Upload-UUID"
path=${loc#http://127.0.0.1:$PORT}
check_match "$path" "^/v2/lib/up/blobs/uploads/$uuid([?].*)?\$" "Location path"
check_eq "$(hdr Range)" 0-0 "Range"
check_eq "$(hdr Content-Length)" 0 "Content-Length"

http POST "$URL/v2/lib/up/blobs/uploads/" -H 'Content-Length: 0'
check_eq "$STATUS" 202 "second POST uploads/"
uuid2=$(hdr Docker-Upload-UUID)
[ "$uuid" != "$uuid2" ] || fail "two sessions share the UUID $uuid"

# The session is live: its status answers.
http GET "$(loc_url "$loc")"
check_eq "$STATUS" 204 "status of the new session"
exit 0
