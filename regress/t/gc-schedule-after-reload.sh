#!/bin/bash
#
# The storage settings follow a reload: regd starts without a gc
# schedule and with no quota; after "gc schedule 1", "gc grace 0" and a
# quota are added and regctl reload, a loose blob is swept within a few
# seconds without anyone running gc, stale uploads go on the same run,
# and a push over the new quota is refused.

. ./regress/lib.sh

regd_start
V2=$T/storage/docker/registry/v2
make_blob 1500 "$T/loose"
push_blob s/a "$T/loose"
loose=$(sha "$T/loose")
upload_start s/a
sleep 2
http HEAD "$URL/v2/s/a/blobs/$loose"
check_eq "$STATUS" 200 "loose blob before the reload"

regd_conf 'gc schedule 1
gc grace 0
gc uploads max age 1s
quota 4K on "s/*"'
$REGCTL reload > "$T/reload" || fail "reload: $(cat "$T/reload")"
n=50
while [ -n "$(find "$V2/blobs" -path "*${loose#sha256:}*")" ]; do
	n=$((n - 1))
	[ "$n" -gt 0 ] || fail "the scheduled gc did not sweep $loose"
	sleep 0.1
done
http HEAD "$URL/v2/s/a/blobs/$loose"
check_eq "$STATUS" 404 "loose blob after the scheduled gc"
check_eq "$(ls "$V2/repositories/s/a/_uploads" 2>/dev/null)" "" \
    "uploads left after the scheduled gc"
http GET "$LOC"
check_eq "$STATUS" 404 "the stale upload session"
make_blob 5000 "$T/big"
http POST "$URL/v2/s/a/blobs/uploads/?digest=$(sha "$T/big")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/big"
check_eq "$STATUS" 403 "push over the quota set by the reload"
grep -q 'gc: removed 1 blobs' "$T/regd.log" ||
    fail "the scheduled gc did not log its work: $(tail -5 "$T/regd.log")"
