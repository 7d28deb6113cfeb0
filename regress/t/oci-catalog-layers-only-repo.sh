#!/bin/bash
#
# A repository that holds only layer links (a cross-repository mount, or
# blobs pushed before any manifest) is listed by the catalog, as
# Distribution lists every directory with a _layers directory; a
# repository left with nothing after "regctl rm" is not.

. ./regress/lib.sh

regd_start

push_image lib/full v1
make_blob 3000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/src "$T/blob"
http POST "$URL/v2/lib/dst/blobs/uploads/?mount=$d&from=lib/src" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "mount from lib/src"

http GET "$URL/v2/_catalog"
check_eq "$STATUS" 200 "catalog"
check_eq "$(jq -c .repositories "$BODY")" '["lib/dst","lib/full","lib/src"]' \
    "catalog with layer-only repositories"

http GET "$URL/v2/_catalog?n=1&last=lib/dst"
check_eq "$(jq -c .repositories "$BODY")" '["lib/full"]' "catalog page"

$REGCTL rm lib/dst > /dev/null || fail "regctl rm lib/dst"
http GET "$URL/v2/_catalog"
check_eq "$(jq -c .repositories "$BODY")" '["lib/full","lib/src"]' \
    "catalog after regctl rm"
exit 0
