#!/bin/bash
#
# Unfinished uploads are bounded: their bytes count against the quotas
# as they arrive (a PATCH that would pass a quota is refused with 403
# DENIED and the session removed, nothing kept), sessions are bounded
# per client ("max uploads per client") and per repository ("max
# uploads"), answered 429 past that, and an idle session ends after
# "upload timeout".

. ./regress/lib.sh

regd_start 'quota 5M on "q/*"
max uploads 6
max uploads per client 4
upload timeout 5'
V2=$T/storage/docker/registry/v2

# Five PATCHes of 8 MiB into a 5 MiB quota: each refused, nothing kept.
head -c $((8 * 1024 * 1024)) /dev/urandom > "$T/big"
for i in 1 2 3 4 5; do
	upload_start q/a
	http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$T/big"
	check_eq "$STATUS" 403 "PATCH $i of 8 MiB into 5 MiB"
	check_eq "$(json_get '.errors[0].code')" DENIED "PATCH $i: code"
done
used=$(du -sk "$V2/repositories/q/a" | cut -f1)
[ "$used" -lt 1024 ] || fail "refused uploads left $used KiB"
# Several sessions together cannot pass the quota either.
make_blob $((2 * 1024 * 1024)) "$T/two"
n=0
for i in 1 2 3; do
	upload_start q/b
	http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$T/two"
	[ "$STATUS" = 202 ] && n=$((n + 1))
done
check_eq "$n" 2 "2 MiB sessions that fit in 5 MiB"

# Sessions per client: q/b holds 3 (one refused by quota is gone).
for r in s/a s/b s/c s/d; do
	http POST "$URL/v2/$r/blobs/uploads/" -H 'Content-Length: 0'
	printf '%s ' "$STATUS"
done > "$T/st"
check_eq "$(cat "$T/st")" "202 202 429 429 " "sessions past 4 per client"
check_eq "$(json_get '.errors[0].code')" TOOMANYREQUESTS "429 code"
http POST "$URL/v2/s/e/blobs/uploads/?digest=sha256:$(printf '%064d' 0)" \
    -H 'Content-Type: application/octet-stream' --data-binary x
check_eq "$STATUS" 429 "monolithic upload past 4 per client"
# A mount without "from" of a blob nobody has falls back to an upload
# session of the same client: bounded the same way.
http POST "$URL/v2/s/f/blobs/uploads/?mount=sha256:$(printf '%064d' 1)" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 429 "mount without from past 4 per client"

# Idle sessions end: the slots come back.
sleep 8
left=$(find "$V2/repositories" -path '*/_uploads/*' -name data | wc -l)
check_eq "$left" 0 "upload files left after the timeout"
http GET "$(loc_url "$LOC")"
check_eq "$STATUS" 404 "status of an expired session"
for i in 1 2 3 4; do
	upload_start "s/$i"
done
regd_stop
exit 0
