#!/bin/bash
#
# The tests of two regd instances on one shared store (regress/t/
# replicas-*.sh, through regress/replicas.sh) on the S3 backend: both
# instances on one bucket and root of a throw-away radosgw, each with its
# own cache (replica_storage_s3 in regress/lib.sh): chunked uploads
# alternating between them behind nginx, a kill -9 mid-push and the
# retry through the other, tag propagation, a multi-arch skopeo push
# through the balancer, quota recounts, per-instance upload caps.
# (replicas-gc-online-other-pushes is left out: with its 2 s grace the
# seconds an S3 push of 4 blobs takes here let the other instance's GC
# sweep a blob before its manifest comes.)  Skips only when Ceph is not
# installed.

. regress/lib.sh

TESTS="replicas-chunked-upload-alternating replicas-kill9-retry-other
replicas-tag-propagation replicas-skopeo-multiarch-balanced
replicas-quota-recount replicas-upload-caps-per-instance"

for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
	command -v "$b" >/dev/null 2>&1 ||
	    skip "Ceph packages missing ($b): sh regress/s3/deps.sh"
done
S3REQ=./regress/s3/s3req

CEPH_DIR=$T/ceph
ceph_stop()
{
	local rc=$?

	bash regress/s3/ceph.sh stop "$CEPH_DIR"
	return "$rc"
}
trap 'ceph_stop; regd_cleanup' EXIT

CEPH_MEM_BYTES=${CEPH_MEM_BYTES:-1073741824} \
    bash regress/s3/ceph.sh start "$CEPH_DIR" > "$T/ceph.out" 2>&1 ||
    fail "ceph.sh start: $(tail -n 20 "$T/ceph.out")"
. "$CEPH_DIR/env"
S3_BUCKET=replicas
export S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION S3_BUCKET
export REGD_BACKEND=s3
note "Ceph up in ${S3_START_SECONDS} s at $S3_ENDPOINT"
STATUS=$("$S3REQ" PUT /$S3_BUCKET -- -s -o /dev/null -w '%{http_code}')
check_eq "$STATUS" 200 "create bucket"

failed= n=0 skipped=
for t in $TESTS; do
	[ -f "regress/t/$t.sh" ] || fail "no test $t"
	timeout -k 10 240 bash "regress/t/$t.sh" > "$T/$t.log" 2>&1 \
	    < /dev/null
	rc=$?
	case $rc in
	0)
		n=$((n + 1))
		;;
	77)
		skipped="$skipped $t"
		;;
	*)
		failed="$failed $t"
		echo "--- $t (exit $rc)" >&2
		tail -n 15 "$T/$t.log" >&2
		;;
	esac
done
note "$n passed on S3${skipped:+, skipped:$skipped}"
[ -z "$failed" ] || fail "failed on S3:$failed"
# Every test's regd wrote under its own root, in Distribution's keys.
"$S3REQ" GET "/$S3_BUCKET?list-type=2&delimiter=/" -- -s -o "$T/top.xml"
grep -q '<Prefix>regress/</Prefix>' "$T/top.xml" ||
    fail "nothing under regress/: $(head -c 600 "$T/top.xml")"
exit 0
