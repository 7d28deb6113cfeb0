#!/bin/bash
#
# The zero-length blob and the two-byte empty config "{}" upload and are
# served like any other, by single POST and by POST then PUT.

. ./regress/lib.sh

regd_start

empty=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
conf=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
: > "$T/empty"
printf '{}' > "$T/conf"
check_eq "$(sha "$T/empty")" "$empty" "digest of the empty file"
check_eq "$(sha "$T/conf")" "$conf" "digest of {}"

http POST "$URL/v2/lib/empty/blobs/uploads/?digest=$empty" \
    -H 'Content-Type: application/octet-stream' -H 'Content-Length: 0'
check_eq "$STATUS" 201 "single POST of the empty blob"
check_eq "$(hdr Docker-Content-Digest)" "$empty" "Docker-Content-Digest"

http GET "$URL/v2/lib/empty/blobs/$empty"
check_eq "$STATUS" 200 "GET of the empty blob"
check_eq "$(hdr Content-Length)" 0 "Content-Length of the empty blob"
check_eq "$(hdr Docker-Content-Digest)" "$empty" "Docker-Content-Digest"
[ -s "$BODY" ] && fail "the empty blob has a body"
http HEAD "$URL/v2/lib/empty/blobs/$empty"
check_eq "$STATUS" 200 "HEAD of the empty blob"
check_eq "$(hdr Content-Length)" 0 "HEAD Content-Length of the empty blob"

upload_start lib/empty2
http PUT "$(add_query "$LOC" "digest=$empty")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "POST then PUT of the empty blob"
http GET "$URL/v2/lib/empty2/blobs/$empty"
check_eq "$STATUS" 200 "GET of the empty blob (POST then PUT)"

push_blob lib/empty "$T/conf"
http GET "$URL/v2/lib/empty/blobs/$conf"
check_eq "$STATUS" 200 "GET of {}"
check_eq "$(cat "$BODY")" '{}' "body of the empty config"
check_eq "$(hdr Content-Length)" 2 "Content-Length of {}"

upload_start lib/empty2
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Content-Range: 0-1' --data-binary "@$T/conf"
check_eq "$STATUS" 202 "PATCH of {}"
LOC=$(loc_url "$(hdr Location)")
http PUT "$(add_query "$LOC" "digest=$conf")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "closing PUT of {}"
http GET "$URL/v2/lib/empty2/blobs/$conf"
check_eq "$(cat "$BODY")" '{}' "body of {} (chunked)"
exit 0
