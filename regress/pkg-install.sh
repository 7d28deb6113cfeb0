#!/bin/sh
#
# regress/pkg-install.sh WHO [-R] PKG...: install with apt-get those of the
# Debian packages PKG that are missing, as root; WHO names the caller in
# messages, -R leaves recommended packages out.  Exits 0 when everything
# is there, 1 when something is missing and cannot be installed.

who=$1
shift
recommends=
if [ "${1:-}" = -R ]; then
	recommends=--no-install-recommends
	shift
fi

missing=
for p in "$@"; do
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
	echo "$who: missing packages:$missing (run as root)" >&2
	exit 1
fi
echo "$who: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || exit 1
apt-get install -y -q $recommends $missing || exit 1
exit 0
