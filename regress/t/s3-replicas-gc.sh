#!/bin/bash
# regress: long 120
#
# The replicas-* tests of quotas and garbage collection on the S3 backend
# (see s3-replicas): quota recounts, online GC on one instance while the
# other pushes (the uses of blobs an S3 push makes are written to the
# bucket, blob_touch, so the other instance's GC counts its grace from
# them), fsck -r and rm refused under another's maintenance lease, and GC
# removing the markers of use of gone blobs.  Skips only when Ceph is not
# installed.

. regress/lib.sh
. regress/s3/s3lib.sh

s3_replicas replicas-quota-recount replicas-gc-online-other-pushes \
    replicas-maintenance-lease replicas-gc-orphan-markers
exit 0
