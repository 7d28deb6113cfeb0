#!/bin/bash
#
# Two regd on one S3 bucket: the markers of use that blob_touch writes
# (_regd/used/<alg>/<hex>, regd(8)) whose blob is gone are removed by
# GC, once older than the grace; nothing else would ever remove them.
# A marker of a live blob (written through the real path: a HEAD of the
# blob on instance 2) stays, and so does an orphan younger than the
# grace (a push racing the run).  "gc -n" lists the orphan and removes
# nothing.  The orphans are written with the test's S3 client, as a
# touch that came after the blob's removal leaves them.  S3 only: the
# filesystem backend keeps no markers.
. regress/lib.sh
. regress/replicas.sh

[ "${REGD_BACKEND:-fs}" = s3 ] || skip "markers of use are S3 objects"
S3REQ=${S3REQ:-./regress/s3/s3req}
[ -x "$S3REQ" ] || fail "$S3REQ is not built (make units)"
replica_start 1 "gc grace 8"
replica_start 2 "gc grace 8"
REGCTL1="$REGCTL_BIN -s $T/r1/regd.sock"
used=/$S3_BUCKET${S3_ROOT:-/regress/${T##*/}}/docker/registry/v2/_regd/used

marker()	# marker METHOD DIGEST: prints the status
{
	local f=

	[ "$1" = PUT ] && { : > "$T/empty"; f=$T/empty; }
	"$S3REQ" "$1" "$used/sha256/${2#sha256:}" $f -- -s -o /dev/null \
	    -w '%{http_code}'
}

URL=${RURL[1]}
push_image lib/live v1
LIVE=$IMG_LAYER
http HEAD "${RURL[2]}/v2/lib/live/blobs/$LIVE"
check_eq "$STATUS" 200 "HEAD of the live layer on instance 2"
check_eq "$(marker HEAD "$LIVE")" 200 "the live layer's marker"

make_blob 100 "$T/gone1"
make_blob 100 "$T/gone2"
OLD=$(sha "$T/gone1")
NEW=$(sha "$T/gone2")
check_eq "$(marker PUT "$OLD")" 200 "an orphan marker written"
sleep 9		# older than the grace

$REGCTL1 gc -n > "$T/dry.out" 2>&1 ||
    fail "gc -n: $(cat "$T/dry.out")"
grep -q "^marker $OLD (its blob is gone)" "$T/dry.out" ||
    fail "gc -n does not list the orphan: $(cat "$T/dry.out")"
check_eq "$(marker HEAD "$OLD")" 200 "the orphan after gc -n"

# Younger than the grace (8 s) while the run below lasts.
check_eq "$(marker PUT "$NEW")" 200 "a young orphan marker written"

$REGCTL1 gc > "$T/gc.out" 2>&1 || fail "gc: $(cat "$T/gc.out")"
note "$(tail -n 2 "$T/gc.out" | tr '\n' ' ')"
grep -q "^marker $OLD\$" "$T/gc.out" ||
    fail "the orphan is not reported removed: $(cat "$T/gc.out")"
grep -q "^removed 1 markers of use of removed blobs" "$T/gc.out" ||
    fail "no count of markers removed: $(cat "$T/gc.out")"
check_eq "$(marker HEAD "$OLD")" 404 "the orphan marker after gc"
check_eq "$(marker HEAD "$NEW")" 200 "the young orphan marker after gc"
check_eq "$(marker HEAD "$LIVE")" 200 "the live layer's marker after gc"
for n in 1 2; do
	http GET "${RURL[$n]}/v2/lib/live/blobs/$LIVE"
	check_eq "$STATUS" 200 "the live layer on instance $n"
done
exit 0
