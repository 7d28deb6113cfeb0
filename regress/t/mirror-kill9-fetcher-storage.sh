#!/bin/bash
# kill -9 mid-fetch.  The fetcher: the client receiving the blob has its
# connection closed short, the parent starts another fetcher, the upload
# is gone and the next pull fetches the blob again, whole and verified.
# Storage: regd stops (as it does when storage dies); started again on
# the same directory, the next pull fetches again and nothing of the
# first fetch is served.
. regress/lib.sh
. regress/authlib.sh
. regress/mirrorlib.sh

mkdir -p "$T/up"
dreg_start "$T/up"
up_throttled 8m

make_blob $((24 * 1024 * 1024)) "$T/big"
d=$(sha "$T/big")
up_blob lib/big "$T/big"

mirror_start "http://127.0.0.1:$NPORT" '	mirror "up"'
uploads=$T/storage/docker/registry/v2/repositories/lib/big/_uploads
blobdir=$T/storage/docker/registry/v2/blobs/sha256/${d:7:2}/${d#sha256:}

# pull_cut: a pull interrupted by kill -9 of process WORD as soon as the
# client has bytes (nginx lets a second's worth through at once, and a
# fast fetcher takes the rest of the 24 MiB in two more).
pull_cut()
{
	local pid code=0 n=100

	curl -s -o "$T/cut" "$URL/v2/lib/big/blobs/$d" &
	pid=$!
	until [ -s "$T/cut" ]; do
		n=$((n - 1))
		[ $n -gt 0 ] || fail "no bytes for the client in 10 s"
		sleep 0.05
	done
	kill -KILL $(pids_titled "$1") || fail "no $1 to kill"
	wait $pid || code=$?
	[ "$code" -ne 0 ] || fail "kill -9 $1: the client saw a clean end"
	[ "$(stat -c %s "$T/cut")" -lt $((24 * 1024 * 1024)) ] ||
	    fail "kill -9 $1: the client got every byte"
}

pull_cut fetcher
has_fetcher()
{
	[ -n "$(pids_titled fetcher)" ]
}
wait_for "no new fetcher" has_fetcher
[ ! -e "$blobdir" ] || fail "a half-fetched blob was stored"
[ -z "$(ls -A "$uploads" 2>/dev/null)" ] ||
    fail "the upload of the killed fetch is still there: $(ls "$uploads")"
http GET "$URL/v2/lib/big/blobs/$d"
check_eq "$STATUS" 200 "pull after the fetcher's restart"
check_eq "$(sha "$BODY")" "$d" "bytes after the fetcher's restart"

# Storage this time, on another blob.
make_blob $((24 * 1024 * 1024)) "$T/big"
d=$(sha "$T/big")
blobdir=$T/storage/docker/registry/v2/blobs/sha256/${d:7:2}/${d#sha256:}
up_blob lib/big "$T/big"
pull_cut storage
regd_wait_gone 10 "$REGD_PID" || fail "regd still running without storage"
wait "$REGD_PID" 2>/dev/null
REGD_PID=
[ ! -e "$blobdir" ] || fail "a half-fetched blob was stored"
regd_launch
http GET "$URL/v2/lib/big/blobs/$d"
check_eq "$STATUS" 200 "pull after regd's restart"
check_eq "$(sha "$BODY")" "$d" "bytes after regd's restart"
n=$(grep -c "GET /v2/lib/big/blobs/$d" "$T/nginx/access.log")
check_eq "$n" 2 "upstream GETs: the cut one and the new one"
regd_stop
