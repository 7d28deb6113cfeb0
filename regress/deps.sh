#!/bin/sh
#
# regress/deps.sh [run]: install what building and testing regd needs on
# Debian, only when something is missing, and create the _regd user.
# With "run", only what building regd and the README's walkthrough need.

PKGS="build-essential pkg-config byacc libevent-dev libssl-dev libbsd-dev
libjansson-dev libseccomp-dev libcrypt-dev libcurl4-openssl-dev curl skopeo
ca-certificates"
if [ "${1:-}" != run ]; then
	PKGS="$PKGS mandoc jq podman docker-registry nginx apache2-utils
openssl procps psmisc iproute2 util-linux coreutils python3 gdb strace
debhelper dpkg-dev lintian prometheus containerd python3-cryptography
docker.io"
fi

sh "$(dirname "$0")/pkg-install.sh" deps.sh $PKGS || exit 1

# The S3 tests' throw-away Ceph has a list of its own (regress/s3).
if [ "${1:-}" != run ]; then
	sh "$(dirname "$0")/s3/deps.sh" || exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
	if ! getent passwd _regd >/dev/null; then
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin _regd || exit 1
	fi
	# The default chroot of the frontend and logger.
	if [ ! -d /var/empty ]; then
		mkdir -p /var/empty && chmod 0755 /var/empty
	fi
	# The docker-registry package starts its service on port 5000 where
	# systemd runs; the tests start their own registries when they want one.
	if [ -d /run/systemd/system ] &&
	    { systemctl is-active --quiet docker-registry 2>/dev/null ||
	    systemctl is-enabled --quiet docker-registry 2>/dev/null; }; then
		systemctl disable --now docker-registry >/dev/null 2>&1
	fi
	# Likewise Prometheus on 9090: the metrics tests run their own.
	if [ -d /run/systemd/system ] &&
	    { systemctl is-active --quiet prometheus 2>/dev/null ||
	    systemctl is-enabled --quiet prometheus 2>/dev/null; }; then
		systemctl disable --now prometheus >/dev/null 2>&1
	fi
	# docker.io starts a dockerd where systemd runs; the mirror test
	# starts a throw-away one of its own.
	if [ -d /run/systemd/system ] &&
	    { systemctl is-active --quiet docker 2>/dev/null ||
	    systemctl is-enabled --quiet docker 2>/dev/null; }; then
		systemctl disable --now docker.socket docker >/dev/null 2>&1
	fi
	if [ -x /etc/init.d/docker-registry ] &&
	    /etc/init.d/docker-registry status >/dev/null 2>&1; then
		/etc/init.d/docker-registry stop >/dev/null 2>&1
	fi
fi
exit 0
