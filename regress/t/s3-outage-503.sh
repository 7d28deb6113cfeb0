#!/bin/bash
# regress: long 30
#
# regd on the S3 backend when radosgw goes away (regress/s3/ceph.sh):
# killed in the middle of a chunked upload's PATCH, then gone for a
# while.  Clients get 503 with the spec's JSON error body (never a 404
# or a 400 that would make them give up, never a 500), nothing of what
# failed is visible afterwards (no tag, no blob, the upload still at its
# last acknowledged offset), and regd serves again once radosgw is back,
# without a restart: the upload goes on to the right digest.  /health
# says 503 within the health timeout while radosgw is gone (killed, then
# stopped with SIGSTOP so that it hangs), 200 once it is back.  Skips
# only when Ceph is not installed.

. regress/lib.sh

. regress/s3/s3lib.sh

s3_need
s3_on_exit()
{
	[ -z "${RGW_STOPPED:-}" ] || kill -CONT "$RGW_STOPPED" 2>/dev/null
	regd_stop 2>/dev/null
}
s3_up outage

MPORT=$(free_port)
MURL=http://127.0.0.1:$MPORT
REGD_BACKEND=s3 regd_conf "$(printf 'metrics {\n\tlisten on 127.0.0.1 port %s\n\thealth timeout 2\n}' "$MPORT")"
regd_launch

# health STATUS WHAT: GET /health, its status and JSON body checked; it
# must come within the health timeout (2 s) and a second of slack.
health()
{
	local t0 t1

	t0=$(date +%s%N)
	http GET "$MURL/health"
	t1=$(date +%s%N)
	check_eq "$STATUS" "$1" "/health $2: $(head -c 300 "$BODY")"
	jq -e . < "$BODY" > /dev/null 2>&1 ||
	    fail "/health $2: not JSON: $(head -c 300 "$BODY")"
	[ $(( (t1 - t0) / 1000000 )) -le 3000 ] ||
	    fail "/health $2 took $(( (t1 - t0) / 1000000 )) ms"
}
# health_back WHAT: 200 within 15 s (radosgw starting again).
health_back()
{
	local n=150

	while [ $n -gt 0 ]; do
		http GET "$MURL/health"
		[ "$STATUS" = 200 ] && break
		n=$((n - 1))
		sleep 0.1
	done
	health 200 "$1"
	check_eq "$(json_get .store)" answers "/health $1: the store"
}
health 200 "with radosgw up"
check_eq "$(json_get .store)" answers "/health: the store"

push_image lib/app v1
V1=$IMG_DIGEST
LAYER=$IMG_LAYER

rgw()
{
	awk '$2 == "rgw" { print $1 }' "$CEPH_DIR/pids"
}

# A PATCH whose bytes all came while radosgw was up, but which ends
# after it died: not acknowledged (503), and nothing of it counts.
make_blob $((2 * 1048576)) "$T/slow"
upload_start lib/app
LOC0=$LOC
curl -s -o "$T/slow.body" -D "$T/slow.hdrs" -w '%{http_code}' -X PATCH \
    --limit-rate 1M -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/slow" "$LOC0" > "$T/slow.status" &
cpid=$!
sleep 1
kill -KILL "$(rgw)"
wait "$cpid"
STATUS=$(cat "$T/slow.status")
cp "$T/slow.body" "$BODY"
cp "$T/slow.hdrs" "$HDRS"
expect_error 503 UNAVAILABLE
bash regress/s3/ceph.sh restart-rgw "$CEPH_DIR" > "$T/restart.out" 2>&1 ||
    fail "restart-rgw: $(tail -n 5 "$T/restart.out")"
http GET "$LOC0"
check_eq "$STATUS" 204 "status of the upload whose PATCH failed"
[ "$(hdr Range)" != "0-$((2 * 1048576 - 1))" ] ||
    fail "the bytes of the failed PATCH count: $(hdr Range)"

# A chunked upload: 6 MiB acknowledged before the outage.
make_blob $((6 * 1048576)) "$T/c1"
make_blob $((24 * 1048576)) "$T/c2"
make_blob 1048576 "$T/c3"
upload_start lib/app
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: 0-$((6 * 1048576 - 1))" --data-binary "@$T/c1"
check_eq "$STATUS" 202 "first PATCH"
LOC=$(loc_url "$(hdr Location)")

# radosgw killed while the next 24 MiB PATCH is on its way.
curl -s -o "$T/mid.body" -D "$T/mid.hdrs" -w '%{http_code}' -X PATCH \
    --limit-rate 8M -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: $((6 * 1048576))-$((30 * 1048576 - 1))" \
    --data-binary "@$T/c2" "$LOC" > "$T/mid.status" &
cpid=$!
sleep 1.5
pid=$(rgw)
[ -n "$pid" ] || fail "no radosgw pid"
kill -KILL "$pid"
wait "$cpid"
STATUS=$(cat "$T/mid.status")
cp "$T/mid.body" "$BODY"
cp "$T/mid.hdrs" "$HDRS"
expect_error 503 UNAVAILABLE
note "PATCH cut off by the outage: $STATUS $(head -c 200 "$BODY")"

# While it is gone: /health, reads of what is not cached, every write.
health 503 "with radosgw gone"
check_match "$(json_get .reason)" '^the s3 store does not answer' \
    "/health's reason with radosgw gone"
http GET "$URL/v2/lib/app/blobs/$LAYER"
expect_error 503 UNAVAILABLE
http POST "$URL/v2/lib/app/blobs/uploads/" -H 'Content-Length: 0'
expect_error 503 UNAVAILABLE
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: $((6 * 1048576))-$((7 * 1048576 - 1))" \
    --data-binary "@$T/c3"
expect_error 503 UNAVAILABLE
http PUT "$URL/v2/lib/app/manifests/v2" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$IMG_MANIFEST"
expect_error 503 UNAVAILABLE
http DELETE "$URL/v2/lib/app/manifests/v1"
expect_error 503 UNAVAILABLE

bash regress/s3/ceph.sh restart-rgw "$CEPH_DIR" > "$T/restart.out" 2>&1 ||
    fail "restart-rgw: $(tail -n 5 "$T/restart.out")"

# Back: nothing of the failed requests, everything from before.
health_back "with radosgw back"
http GET "$URL/v2/lib/app/manifests/v2"
check_eq "$STATUS" 404 "the tag whose PUT failed"
http GET "$URL/v2/lib/app/tags/list"
check_eq "$(json_get '.tags | join(",")')" v1 "tags after the outage"
http GET "$URL/v2/lib/app/manifests/v1" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
check_eq "$STATUS" 200 "v1 after the outage"
check_eq "$(hdr Docker-Content-Digest)" "$V1" "v1's digest"
http GET "$URL/v2/lib/app/blobs/$LAYER"
check_eq "$STATUS" 200 "the layer after the outage"
http GET "$LOC"
check_eq "$STATUS" 204 "the upload's status"
check_eq "$(hdr Range)" "0-$((6 * 1048576 - 1))" \
    "the upload is where it was acknowledged"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: $((6 * 1048576))-$((7 * 1048576 - 1))" \
    --data-binary "@$T/c3"
check_eq "$STATUS" 202 "PATCH after the outage"
LOC=$(loc_url "$(hdr Location)")
cat "$T/c1" "$T/c3" > "$T/all"
D=$(sha "$T/all")
http PUT "$(add_query "$LOC" "digest=$D")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "the upload completes: $(head -c 300 "$BODY")"
http GET "$URL/v2/lib/app/blobs/$D"
check_eq "$STATUS" 200 "the blob"
cmp -s "$BODY" "$T/all" || fail "the blob: other bytes"
# Nothing half-written: no multipart upload is left in the bucket.
"$S3REQ" GET "/$S3_BUCKET?uploads" -- -s -o "$T/uploads.xml"
! grep -q '<UploadId>' "$T/uploads.xml" ||
    fail "multipart uploads left: $(head -c 600 "$T/uploads.xml")"

# radosgw hangs (SIGSTOP): /health within its timeout, and checks that
# come meanwhile share one probe; 200 again once it goes on.
RGW_STOPPED=$(rgw)
[ -n "$RGW_STOPPED" ] || fail "no radosgw pid"
kill -STOP "$RGW_STOPPED"
for i in 1 2 3; do
	health 503 "with radosgw stopped ($i)"
done
note "with radosgw stopped: $(json_get .reason)"
kill -CONT "$RGW_STOPPED"
RGW_STOPPED=
health_back "with radosgw going on"
exit 0
