#!/bin/sh
#
# regress/bench/deps.sh: what the bench needs beyond the test
# dependencies (regress/deps.sh), installed only when missing.

PKGS="wrk nginx docker-registry curl jq openssl python3 gcc iproute2"

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
	echo "bench/deps.sh: missing packages:$missing (run as root)" >&2
	exit 1
fi
echo "bench/deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || exit 1
apt-get install -y -q $missing || exit 1
exit 0
