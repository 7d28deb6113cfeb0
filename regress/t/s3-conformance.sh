#!/bin/bash
# regress: long 130
#
# The OCI conformance and real-client tests that run on the filesystem
# backend, run again on the S3 backend: one throw-away radosgw
# (regress/s3/ceph.sh) for all of them, each test's regd on its own root
# in one bucket (regd_conf writes "storage s3" when REGD_BACKEND=s3).
# podman and skopeo push and pull, a multi-arch index, chunked and
# streamed uploads, ranges, deletes, mounts, listings.  Fails if any of
# them fails; skips only when Ceph is not installed.  Then redirect
# mode, and the S3 figures on the metrics listener.

. regress/lib.sh

TESTS="client-podman-push-pull client-podman-manifest-push-all
client-skopeo-copy-all-multiplatform client-skopeo-copy-oci-layout
client-skopeo-list-tags-inspect-delete
oci-upload-chunked-patch-202 oci-upload-stream-patch-202
oci-upload-patch-chunked-encoding oci-upload-put-last-chunk-201
oci-upload-monolithic-post-201 oci-upload-post-put-201
oci-upload-cancel-204 oci-upload-status-204 oci-upload-wrong-digest-400
oci-upload-empty-blobs-201 oci-upload-chunk-out-of-order-416
oci-upload-concurrent-same-blob oci-upload-client-disconnect
oci-blob-get-head-200 oci-blob-range-206 oci-blob-range-416
oci-digest-sha512-blob oci-delete-blob-202 oci-delete-manifest-digest-202
oci-delete-tag-202 oci-mount-from-201 oci-manifest-oci-index-201
oci-manifest-docker-list-201 oci-manifest-tag-overwrite
oci-manifest-blob-unknown-400 oci-tags-list-pagination
oci-catalog-pagination oci-catalog-layers-only-repo oci-referrers-filter"

. regress/s3/s3lib.sh

s3_need
s3_up conformance 1073741824
export REGD_BACKEND=s3

s3_run_tests $TESTS
# With "redirect yes", a blob GET is a 307 to a presigned URL of the
# bucket that curl follows, Range and all; HEAD stays a 200.
S3_REDIRECT=yes regd_conf
regd_launch
make_blob 300000 "$T/blob"
push_blob lib/redir "$T/blob"
D=$(sha "$T/blob")
http GET "$URL/v2/lib/redir/blobs/$D"
check_eq "$STATUS" 307 "blob GET with redirect yes"
loc=$(hdr Location)
case $loc in
"$S3_ENDPOINT/$S3_BUCKET/regress/"*X-Amz-Signature=*)
	;;
*)
	fail "not a presigned URL of the bucket: $loc"
	;;
esac
check_eq "$(hdr Docker-Content-Digest)" "$D" "digest of the redirect"
http GET "$URL/v2/lib/redir/blobs/$D" -L
check_eq "$STATUS" 200 "the redirect followed"
cmp -s "$BODY" "$T/blob" || fail "the redirect: other bytes"
http GET "$URL/v2/lib/redir/blobs/$D" -L -H 'Range: bytes=10-19'
check_eq "$STATUS" 206 "a Range through the redirect"
cmp -s "$BODY" <(tail -c +11 "$T/blob" | head -c 10) ||
    fail "the Range through the redirect: other bytes"
http HEAD "$URL/v2/lib/redir/blobs/$D"
check_eq "$STATUS" 200 "HEAD with redirect yes"
# A burst of redirects of one blob: its object is looked up (HEAD) once
# in a second, not once per GET (radosgw's log counts them).
H=${D#sha256:}
heads()
{
	grep -c "\"HEAD [^ ]*/blobs/sha256/${H:0:2}/$H/data" \
	    "$CEPH_DIR/log/client.rgw.a.log"
}
sleep 1.1
before=$(heads)
args=()
for i in $(seq 1 20); do
	args+=("$URL/v2/lib/redir/blobs/$D")
done
codes=$(curl -s -o /dev/null -w '%{http_code}\n' "${args[@]}" | sort | uniq -c)
check_match "$codes" "^ *20 307$" "20 redirects"
n=$(($(heads) - before))
note "HEADs of the object for 20 redirects: $n"
[ "$n" -ge 1 ] || fail "no HEAD of the object in radosgw's log"
[ "$n" -le 5 ] || fail "$n HEADs of the object for 20 redirects"
http GET "$URL/v2/lib/redir/blobs/sha256:$(printf '%064d' 0)"
expect_error 404 BLOB_UNKNOWN
regd_stop

# The metrics listener counts the object store's requests and the blob
# cache: the first stream-mode GET fills the cache, the second hits it.
MPORT=$(free_port)
regd_conf "metrics {
	listen on 127.0.0.1 port $MPORT
}"
regd_launch
for i in 1 2; do
	http GET "$URL/v2/lib/redir/blobs/$D"
	check_eq "$STATUS" 200 "stream-mode GET $i"
	cmp -s "$BODY" "$T/blob" || fail "stream-mode GET $i: other bytes"
done
curl -sf -o "$T/metrics" "http://127.0.0.1:$MPORT/metrics" ||
    fail "no metrics"
metric()
{
	awk -v n="$1" '$1 == n { print $2 }' "$T/metrics"
}
check_eq "$(metric regd_s3_cache_misses_total)" 1 "cache misses"
check_eq "$(metric regd_s3_cache_hits_total)" 1 "cache hits"
check_eq "$(metric regd_s3_cache_bytes)" 300000 "cache bytes"
check_eq "$(metric regd_s3_errors_total)" 0 "S3 errors"
[ "$(metric regd_s3_requests_total)" -gt 2 ] ||
    fail "S3 requests: $(metric regd_s3_requests_total)"
regd_stop

# Every test's regd wrote under its own root, in Distribution's keys.
"$S3REQ" GET "/$S3_BUCKET?list-type=2&delimiter=/" -- -s -o "$T/top.xml"
grep -q '<Prefix>regress/</Prefix>' "$T/top.xml" ||
    fail "nothing under regress/: $(head -c 600 "$T/top.xml")"
exit 0
