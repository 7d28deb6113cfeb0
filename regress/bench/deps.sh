#!/bin/sh
#
# regress/bench/deps.sh: what the bench needs beyond the test
# dependencies (regress/deps.sh), installed only when missing.

PKGS="wrk nginx docker-registry curl jq openssl python3 gcc iproute2"

sh "$(dirname "$0")/../pkg-install.sh" bench/deps.sh $PKGS || exit 1
exit 0
