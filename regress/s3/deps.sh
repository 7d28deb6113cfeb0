#!/bin/sh
#
# regress/s3/deps.sh: install what regress/s3/ceph.sh needs on Debian (a
# throw-away single-node Ceph: mon, memstore OSD, radosgw), only when
# something is missing.  Kept apart from regress/deps.sh: about 60
# packages that only the S3 tests use.

PKGS="ceph-mon ceph-osd radosgw ceph-common"

missing=
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case $st in
	*" installed")
		;;
	*)
		missing="$missing $p"
		;;
	esac
done

[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "s3/deps.sh: missing packages:$missing (run as root)" >&2
	exit 1
fi
echo "s3/deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || exit 1
apt-get install -y -q --no-install-recommends $missing || exit 1
exit 0
