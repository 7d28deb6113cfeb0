#!/bin/bash
# regress: long 40
#
# regd's S3 client (regd/s3.c, driven by regress/s3/s3test) against a real
# radosgw (regress/s3/ceph.sh): every operation with its result checked.
# Keys with spaces, '+', '%', "../" and non-ASCII; ListObjectsV2 paging
# (max-keys 2 over 7 keys, on one connection) and a delimiter; a 12 MiB
# multipart upload in 3 parts (a descriptor region, an upload-part-copy
# of a range, a pipe); put-if-absent twice; copy; delete and delete many;
# a presigned GET fetched by curl; virtual-host addressing; a range GET
# into a slow non-blocking pipe; an answer over the caller's bound.
# Then radosgw stopped: a request fails within the configured timeout,
# marked transient, and succeeds once radosgw is back.  Skips only when
# Ceph is not installed.

. regress/lib.sh

. regress/s3/s3lib.sh

s3_need
S3T=./regress/s3/s3test
[ -x "$S3REQ" ] && [ -x "$S3T" ] || fail "s3req/s3test not built (make units)"
s3_on_exit()
{
	[ -z "${RGW_STOPPED:-}" ] || kill -CONT "$RGW_STOPPED" 2>/dev/null
}
s3_up regress 2147483648

# s3t ARGS...: run s3test; its stdout in $OUT, stderr in $ERR, status $RC.
OUT=$T/s3t.out
ERR=$T/s3t.err
s3t()
{
	timeout 60 "$S3T" "$@" > "$OUT" 2> "$ERR"
	RC=$?
}
s3ok()
{
	s3t "$@"
	[ "$RC" -eq 0 ] || fail "s3test $*: $RC: $(cat "$ERR")"
}
md5()
{
	md5sum < "$1" | cut -d' ' -f1
}

# Keys as the client gets them, raw; the "../" must not be collapsed.
K1='docker/registry/v2/a b+c%20d/ü é/link'
K2='dots/../x'
make_blob 1000 "$T/k1"
make_blob 77 "$T/k2"
s3ok put "$K1" "$T/k1"
s3ok put "$K2" "$T/k2"
s3ok head "$K1"
check_eq "$(cat "$OUT")" "size 1000 etag $(md5 "$T/k1") mtime $(awk \
    '{ print $6 }' "$OUT")" "head"
s3ok get "$K1" 1000
cmp -s "$OUT" "$T/k1" || fail "get: other bytes"
s3ok get "$K2" 100
cmp -s "$OUT" "$T/k2" || fail "get of a key with ../: other bytes"
s3t head x
check_match "$(cat "$ERR")" 'status=404 code=NoSuchKey transient=0 errnum=2 ' \
    "head of a key that is not there"
s3t get "$K1" 999
check_match "$(cat "$ERR")" 'code=TooLarge transient=0 errnum=27 ' \
    "get into a buffer too small"
# An empty object: all of it is nothing, a byte of it is out of range.
: > "$T/empty"
s3ok put empty "$T/empty"
s3ok range empty 0 -1
check_eq "$(wc -c < "$OUT")" 0 "all of an empty object"
s3t range empty 0 1
check_match "$(cat "$ERR")" 'status=416 .*errnum=22 ' "a byte of an empty object"
s3ok rm empty
s3ok ls
check_eq "$(cut -f2 "$OUT" | tr '\n' '|')" "$K1|$K2|" "keys as listed"

# Paging: 7 keys, 2 a page, all on one connection; then a delimiter.
P='page/a/1 page/a/2 page/b/1 page/c page/d page/e page/f'
for k in $P; do
	s3ok put "$k" "$T/k2"
done
s3ok ls prefix=page/ max=2
check_eq "$(cut -f2 "$OUT" | tr '\n' ' ')" "$P " "paged listing"
check_eq "$(grep '^#' "$ERR")" "# pages 4 connects 1" "pages, connections"
s3ok ls prefix=page/ delim=/ max=2
check_eq "$(cut -f1,2 "$OUT" | tr '\t\n' ': ')" "prefix:page/a/ \
prefix:page/b/ key:page/c key:page/d key:page/e key:page/f " \
    "listing with a delimiter"
check_eq "$(grep '^#' "$ERR")" "# pages 3 connects 1" "delimiter pages"
s3ok ls prefix=page/ start=page/d
check_eq "$(cut -f2 "$OUT" | tr '\n' ' ')" "page/e page/f " "start-after"

# Multipart: 12 MiB in 3 parts: 5 MiB from a region of the file, 5 MiB
# copied from a range of another object, the last 2 MiB from a pipe.
make_blob 12582912 "$T/big"
s3ok putfd src "$T/big" 0 12582912
s3ok head src
check_match "$(cat "$OUT")" "^size 12582912 etag $(md5 "$T/big") " "putfd"
s3ok mp-create "$K1.mp"
id=$(cat "$OUT")
[ -n "$id" ] || fail "no upload id"
s3ok mp-part "$K1.mp" "$id" 1 "$T/big" 0 5242880
p1=$(tr ' ' : < "$OUT")
s3ok mp-copy "$K1.mp" "$id" 2 src 5242880 5242880
p2=$(tr ' ' : < "$OUT")
tail -c 2097152 "$T/big" |
    timeout 60 "$S3T" mp-part "$K1.mp" "$id" 3 - 0 2097152 > "$OUT" 2> "$ERR" ||
    fail "part from a pipe: $(cat "$ERR")"
p3=$(tr ' ' : < "$OUT")
s3ok mp-parts "$K1.mp" "$id"
check_eq "$(awk '{ printf "%s:%s ", $1, $3 }' "$OUT")" \
    "1:5242880 2:5242880 3:2097152 " "list parts"
s3ok mp-uploads docker/
check_eq "$(cat "$OUT")" "$K1.mp	$id" "list multipart uploads"
s3ok mp-complete "$K1.mp" "$id" "$p1" "$p2" "$p3"
s3ok head "$K1.mp"
check_match "$(cat "$OUT")" '^size 12582912 etag [0-9a-f]{32}-3 ' \
    "multipart object"
s3ok mp-uploads docker/
check_eq "$(cat "$OUT")" "" "no upload left after complete"
# A whole object into a pipe whose reader is slow: the writes meet EAGAIN.
timeout 60 "$S3T" range "$K1.mp" 0 -1 2> "$ERR" |
    { sleep 1; cat; } > "$T/got" || fail "range: $(cat "$ERR")"
cmp -s "$T/got" "$T/big" || fail "multipart object: other bytes"
timeout 60 "$S3T" range "$K1.mp" 5242000 2000 2> "$ERR" > "$T/got" ||
    fail "range: $(cat "$ERR")"
cmp -s "$T/got" <(tail -c +5242001 "$T/big" | head -c 2000) ||
    fail "range across parts: other bytes"
# Aborted uploads are gone from the listing.
s3ok mp-create aborted
id=$(cat "$OUT")
s3ok mp-uploads abort
check_eq "$(cut -f1 "$OUT")" aborted "upload to abort listed"
s3ok mp-abort aborted "$id"
s3ok mp-uploads abort
check_eq "$(cat "$OUT")" "" "aborted upload listed"
# RGW 16 says NoSuchKey here, AWS NoSuchUpload.
s3t mp-parts aborted "$id"
check_match "$(cat "$ERR")" \
    'status=404 code=NoSuch(Upload|Key) transient=0 errnum=2 ' \
    "parts of an aborted upload"
s3t mp-abort aborted "$id"
check_match "$(cat "$ERR")" 'status=404 code=NoSuchUpload transient=0 ' \
    "aborting twice"

# Put-if-absent: the second is refused, and the object is the first's.
echo first > "$T/l1"
echo second > "$T/l2"
s3ok putnew lease "$T/l1"
s3t putnew lease "$T/l2"
check_eq "$RC" 3 "second put-if-absent exit status"
check_match "$(cat "$ERR")" \
    'status=412 code=PreconditionFailed transient=0 errnum=17 ' \
    "second put-if-absent"
s3ok get lease 100
check_eq "$(cat "$OUT")" first "lease holder"

# Copy, then delete one and many.
s3ok cp "$K1" "copy/$K1 & <x>"
s3ok get "copy/$K1 & <x>" 1000
cmp -s "$OUT" "$T/k1" || fail "copy: other bytes"
s3ok rm "copy/$K1 & <x>"
s3t head "copy/$K1 & <x>"
check_match "$(cat "$ERR")" 'status=404 ' "deleted object"
# shellcheck disable=SC2086
s3ok rmmany $P page/not-there
s3ok ls prefix=page/
check_eq "$(cat "$OUT")" "" "after delete many"

# A presigned GET: curl fetches it; a changed signature is refused.
s3ok presign "$K1" 60
url=$(cat "$OUT")
http GET "$url"
check_eq "$STATUS" 200 "presigned GET"
cmp -s "$BODY" "$T/k1" || fail "presigned GET: other bytes"
http GET "${url%?}$([ "${url: -1}" = 0 ] && echo 1 || echo 0)"
check_eq "$STATUS" 403 "presigned GET with a changed signature"

# Virtual-host addressing: http://regress.localhost:port/key.
VH_ENDPOINT=${S3_ENDPOINT/127.0.0.1/localhost}
S3_ENDPOINT=$VH_ENDPOINT s3ok -V put "vh/$K1" "$T/k1"
S3_ENDPOINT=$VH_ENDPOINT s3ok -V get "vh/$K1" 1000
cmp -s "$OUT" "$T/k1" || fail "virtual-host get: other bytes"
S3_ENDPOINT=$VH_ENDPOINT s3ok -V ls prefix=vh/
check_eq "$(cut -f2 "$OUT")" "vh/$K1" "virtual-host listing"
S3_ENDPOINT=$VH_ENDPOINT s3ok -V presign "vh/$K1" 60
check_match "$(cat "$OUT")" '^http://regress\.localhost:' "virtual-host URL"
http GET "$(cat "$OUT")"
check_eq "$STATUS" 200 "virtual-host presigned GET"
S3_ENDPOINT=$VH_ENDPOINT s3ok -V rmmany "vh/$K1"
s3t head "vh/$K1"
check_match "$(cat "$ERR")" 'status=404 ' "virtual-host delete many"

# radosgw stopped: no answer within 2 s a try, 3 tries, then transient.
rgw=$(awk '$2 == "rgw" { print $1 }' "$CEPH_DIR/pids")
[ -n "$rgw" ] || fail "no radosgw pid"
kill -STOP "$rgw"
RGW_STOPPED=$rgw
t0=$(date +%s.%N)
s3t -c 1000 -l 2 -r 2 head "$K1"
t1=$(date +%s.%N)
kill -CONT "$rgw"
RGW_STOPPED=
check_eq "$RC" 1 "head on a stopped radosgw"
check_match "$(cat "$ERR")" 'status=0 code=curl-28 transient=1 errnum=110 ' \
    "stopped radosgw"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
note "failed after $secs s (3 tries of 2 s)"
awk -v s="$secs" 'BEGIN { exit !(s >= 5 && s < 12) }' ||
    fail "failure took $secs s, want 6 s and some backoff"
s3ok head "$K1"
# radosgw killed: refused at once, transient; back after a restart.
kill -KILL "$rgw"
while alive "$rgw"; do
	sleep 0.05
done
s3t -c 1000 -l 2 -r 2 head "$K1"
check_match "$(cat "$ERR")" 'status=0 code=curl-7 transient=1 errnum=111 ' \
    "killed radosgw"
bash regress/s3/ceph.sh restart-rgw "$CEPH_DIR" > "$T/restart.out" 2>&1 ||
    fail "restart-rgw: $(tail -n 5 "$T/restart.out")"
s3ok get "$K1" 1000
cmp -s "$OUT" "$T/k1" || fail "get after restart: other bytes"
exit 0
