#!/bin/bash
# Without an upstream there is no fetcher, the only process allowed
# network sockets; a reload that adds an upstream and a mirror line
# starts it, and a pull through the new mirror works.
. regress/lib.sh
. regress/mirrorlib.sh

mkdir -p "$T/up"
dreg_start "$T/up"
printf '{"architecture":"amd64","os":"linux"}' > "$T/config"
d=$(sha "$T/config")
up_blob lib/up "$T/config"

regd_start
check_eq "$(pids_titled fetcher | wc -l)" 0 "fetchers without upstreams"
http GET "$URL/v2/lib/up/blobs/$d"
expect_error 404 BLOB_UNKNOWN
regd_conf "upstream \"up\" {
	url \"$DREG_URL\"
}" '	mirror "up"'
$REGCTL reload > /dev/null || fail "reload"
check_eq "$(pids_titled fetcher | wc -l)" 1 "fetchers after the reload"
n=50
while :; do
	http GET "$URL/v2/lib/up/blobs/$d"
	[ "$STATUS" = 200 ] && break
	n=$((n - 1))
	[ $n -gt 0 ] || fail "no pull through the new mirror: $STATUS"
	sleep 0.1
done
check_eq "$(sha "$BODY")" "$d" "bytes through the new mirror"
regd_stop
