#!/bin/bash
# regress: long 160
#
# The tests of two regd instances on one shared store (regress/t/
# replicas-*.sh, through regress/replicas.sh) on the S3 backend: both
# instances on one bucket and root of a throw-away radosgw, each with its
# own cache (replica_storage_s3 in regress/lib.sh): chunked uploads
# alternating between them behind nginx, a kill -9 mid-push and the
# retry through the other, tag propagation, a multi-arch skopeo push
# through the balancer, quota recounts, per-instance upload caps, and
# online GC on one instance while the other pushes (the uses of blobs an
# S3 push makes are written to the bucket, blob_touch, so the other
# instance's GC counts its grace from them), fsck -r and rm refused
# under another's maintenance lease, and GC removing the markers of use
# of gone blobs.  Skips only when Ceph is not installed.

. regress/lib.sh

TESTS="replicas-chunked-upload-alternating replicas-kill9-retry-other
replicas-tag-propagation replicas-skopeo-multiarch-balanced
replicas-quota-recount replicas-upload-caps-per-instance
replicas-gc-online-other-pushes replicas-maintenance-lease
replicas-gc-orphan-markers"

. regress/s3/s3lib.sh

s3_need
s3_up replicas 1073741824
export REGD_BACKEND=s3
# The grace must outlast a push (regd(8)): seconds on this radosgw.
export REPLICAS_GC_GRACE=8
# Each S3 push is a dozen round trips to radosgw (and a pause of the
# grace every 4 images): 3 images per client there, not 6.
export REPLICAS_GC_IMAGES=3

s3_run_tests $TESTS
# Every test's regd wrote under its own root, in Distribution's keys.
"$S3REQ" GET "/$S3_BUCKET?list-type=2&delimiter=/" -- -s -o "$T/top.xml"
grep -q '<Prefix>regress/</Prefix>' "$T/top.xml" ||
    fail "nothing under regress/: $(head -c 600 "$T/top.xml")"
exit 0
