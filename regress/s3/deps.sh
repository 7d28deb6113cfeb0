#!/bin/sh
#
# regress/s3/deps.sh: install what regress/s3/ceph.sh needs on Debian (a
# throw-away single-node Ceph: mon, memstore OSD, radosgw), only when
# something is missing.  Kept apart from regress/deps.sh: about 60
# packages that only the S3 tests use.

PKGS="ceph-mon ceph-osd radosgw ceph-common"

sh "$(dirname "$0")/../pkg-install.sh" s3/deps.sh -R $PKGS || exit 1
exit 0
