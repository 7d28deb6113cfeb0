#!/bin/bash
#
# A throw-away Ceph (regress/s3/ceph.sh) answers S3 requests signed by
# regd's SigV4 signer (regress/s3/s3req): bucket, PUT/GET, Range,
# presigned GET, ListObjectsV2, a multipart upload (and the 5 MiB part
# minimum), a wrong key refused; then it stops by PID and leaves nothing.
# Skips only when the Ceph packages are missing.

. regress/lib.sh

for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
	command -v "$b" >/dev/null 2>&1 ||
	    skip "Ceph packages missing ($b): sh regress/s3/deps.sh"
done
S3REQ=./regress/s3/s3req
[ -x "$S3REQ" ] || fail "$S3REQ is not built (make units)"

CEPH_DIR=$T/ceph
ceph_stop()
{
	local rc=$?

	bash regress/s3/ceph.sh stop "$CEPH_DIR"
	return "$rc"
}
trap 'st=$?; ceph_stop; (exit $st); regd_cleanup' EXIT

bash regress/s3/ceph.sh start "$CEPH_DIR" > "$T/ceph.out" 2>&1 ||
    fail "ceph.sh start: $(tail -n 20 "$T/ceph.out")"
. "$CEPH_DIR/env"
export S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION
note "Ceph up in ${S3_START_SECONDS} s at $S3_ENDPOINT (pids $S3_PIDS)"

# s3 METHOD PATH [file] [curl args...]: sets $STATUS, $BODY, $HDRS.
s3()
{
	local m=$1 p=$2 f=

	shift 2
	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
		f=$1
		shift
	fi
	: > "$BODY"
	: > "$HDRS"
	STATUS=$("$S3REQ" "$m" "$p" $f -- -o "$BODY" -D "$HDRS" \
	    -w '%{http_code}' "$@")
	[ -n "$STATUS" ] || STATUS=000
}

s3 PUT /regress
check_eq "$STATUS" 200 "create bucket"

make_blob 1048576 "$T/obj"
s3 PUT '/regress/docker/registry/v2/a b+c$' "$T/obj"
check_eq "$STATUS" 200 "PUT object: $(cat "$BODY")"
s3 GET '/regress/docker/registry/v2/a b+c$'
check_eq "$STATUS" 200 "GET object"
cmp -s "$BODY" "$T/obj" || fail "GET object: other bytes"

s3 GET '/regress/docker/registry/v2/a b+c$' -H 'Range: bytes=10-19'
check_eq "$STATUS" 206 "Range GET"
check_eq "$(wc -c < "$BODY" | tr -d ' ')" 10 "Range GET length"
cmp -s "$BODY" <(tail -c +11 "$T/obj" | head -c 10) ||
    fail "Range GET: other bytes"

# The signer must be able to fail: a wrong secret is refused.
STATUS=$("$S3REQ" -s wrong-secret GET '/regress/docker/registry/v2/a b+c$' \
    -- -o /dev/null -w '%{http_code}')
check_eq "$STATUS" 403 "wrong secret"

url=$("$S3REQ" -p 60 GET '/regress/docker/registry/v2/a b+c$') ||
    fail "presign"
http GET "$url"
check_eq "$STATUS" 200 "presigned GET"
cmp -s "$BODY" "$T/obj" || fail "presigned GET: other bytes"
if [ "${url: -1}" = 0 ]; then
	http GET "${url%?}1"
else
	http GET "${url%?}0"
fi
check_eq "$STATUS" 403 "presigned GET with a changed signature"

# Multipart: a 5 MiB part and a last one of 1 MiB.
s3 POST '/regress/mp?uploads'
check_eq "$STATUS" 200 "initiate multipart"
upload=$(sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p' "$BODY")
[ -n "$upload" ] || fail "no UploadId in: $(cat "$BODY")"
make_blob 5242880 "$T/p1"
make_blob 1048576 "$T/p2"
parts=
for n in 1 2; do
	s3 PUT "/regress/mp?partNumber=$n&uploadId=$upload" "$T/p$n"
	check_eq "$STATUS" 200 "upload part $n: $(cat "$BODY")"
	etag=$(hdr ETag)
	[ -n "$etag" ] || fail "no ETag for part $n"
	parts="$parts<Part><PartNumber>$n</PartNumber><ETag>$etag</ETag></Part>"
done
echo "<CompleteMultipartUpload>$parts</CompleteMultipartUpload>" \
    > "$T/complete.xml"
s3 POST "/regress/mp?uploadId=$upload" "$T/complete.xml"
check_eq "$STATUS" 200 "complete multipart: $(cat "$BODY")"
# RGW 16.2 answers an empty <ETag> here; HEAD has the multipart one.
s3 HEAD /regress/mp -I
check_eq "$STATUS" 200 "HEAD multipart object"
check_match "$(hdr ETag)" '^"[0-9a-f]{32}-2"$' "multipart ETag"
check_eq "$(hdr Content-Length)" 6291456 "multipart object size"
s3 GET /regress/mp
check_eq "$STATUS" 200 "GET multipart object"
cmp -s "$BODY" <(cat "$T/p1" "$T/p2") || fail "multipart object: other bytes"

# A part under 5 MiB that is not the last is refused at completion.
s3 POST '/regress/small?uploads'
upload=$(sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p' "$BODY")
[ -n "$upload" ] || fail "no UploadId in: $(cat "$BODY")"
parts=
for n in 1 2; do
	s3 PUT "/regress/small?partNumber=$n&uploadId=$upload" "$T/p2"
	check_eq "$STATUS" 200 "upload small part $n"
	parts="$parts<Part><PartNumber>$n</PartNumber><ETag>$(hdr ETag)</ETag></Part>"
done
echo "<CompleteMultipartUpload>$parts</CompleteMultipartUpload>" \
    > "$T/complete.xml"
s3 POST "/regress/small?uploadId=$upload" "$T/complete.xml"
check_eq "$STATUS" 400 "complete with a 1 MiB first part"
grep -q EntityTooSmall "$BODY" || fail "not EntityTooSmall: $(cat "$BODY")"
s3 DELETE "/regress/small?uploadId=$upload"
check_eq "$STATUS" 204 "abort multipart"

s3 GET '/regress?list-type=2&prefix=docker/'
check_eq "$STATUS" 200 "ListObjectsV2"
grep -q '<Key>docker/registry/v2/a b+c\$</Key>' "$BODY" ||
    fail "ListObjectsV2 misses the object: $(cat "$BODY")"
grep -q '<KeyCount>1</KeyCount>' "$BODY" ||
    fail "ListObjectsV2 prefix: $(cat "$BODY")"

rss=0
for p in $S3_PIDS; do
	alive "$p" || fail "Ceph daemon $p ($(proc_title "$p")) is gone"
	rss=$((rss + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status")))
done
note "Ceph RSS after the test: $((rss / 1024)) MiB"

bash regress/s3/ceph.sh stop "$CEPH_DIR"
for p in $S3_PIDS; do
	! alive "$p" || fail "Ceph daemon $p still runs after stop"
done
[ ! -e "$CEPH_DIR" ] || fail "$CEPH_DIR left after stop"
exit 0
