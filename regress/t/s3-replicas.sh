#!/bin/bash
# regress: long 80
#
# The tests of two regd instances on one shared store (regress/t/
# replicas-*.sh, through regress/replicas.sh) on the S3 backend: both
# instances on one bucket and root of a throw-away radosgw, each with its
# own cache (replica_storage_s3 in regress/lib.sh): chunked uploads
# alternating between them behind nginx, a kill -9 mid-push and the
# retry through the other, tag propagation, a multi-arch skopeo push
# through the balancer and per-instance upload caps.  The quota and GC
# ones are s3-replicas-gc, on a Ceph of their own, so that the two halves
# run side by side.  Skips only when Ceph is not installed.

. regress/lib.sh
. regress/s3/s3lib.sh

s3_replicas replicas-chunked-upload-alternating replicas-kill9-retry-other \
    replicas-tag-propagation replicas-skopeo-multiarch-balanced \
    replicas-upload-caps-per-instance
exit 0
