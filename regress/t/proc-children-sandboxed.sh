#!/bin/bash
# Run as root, the children run as _regd, chrooted (storage into the
# storage directory, frontends and logger into the empty chroot) and under
# a seccomp filter; the parent stays root and unchrooted.
. regress/lib.sh

[ "$REGD_ROOT" -eq 1 ] || skip "needs root"
mkdir -p "$T/empty"
regd_start "chroot \"$T/empty\""

uid=$(id -u _regd)
storage=$(readlink -f "$T/storage")
empty=$(readlink -f "$T/empty")

uids()
{
	awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status"
}
gids()
{
	awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$1/status"
}
seccomp()
{
	awk '/^Seccomp:/ { print $2 }' "/proc/$1/status"
}

check_eq "$(uids "$REGD_PID")" "0 0 0 0" "uids of the parent"
check_eq "$(readlink "/proc/$REGD_PID/root")" / "root of the parent"
check_eq "$(seccomp "$REGD_PID")" 0 "seccomp mode of the parent"

n=0
for kind in frontend storage logger; do
	for p in $(pids_titled "$kind"); do
		n=$((n + 1))
		check_eq "$(uids "$p")" "$uid $uid $uid $uid" "uids of $kind $p"
		g=$(id -g _regd)
		check_eq "$(gids "$p")" "$g $g $g $g" "gids of $kind $p"
		check_eq "$(awk '/^Groups:/ { print $2 }' "/proc/$p/status")" \
		    "$g" "supplementary groups of $kind $p"
		check_eq "$(seccomp "$p")" 2 "seccomp mode of $kind $p"
		check_eq "$(awk '/^NoNewPrivs:/ { print $2 }' \
		    "/proc/$p/status")" 1 "no_new_privs of $kind $p"
		root=$(readlink "/proc/$p/root")
		if [ "$kind" = storage ]; then
			check_eq "$root" "$storage" "root of storage $p"
		else
			check_eq "$root" "$empty" "root of $kind $p"
		fi
		check_eq "$(awk '/^CapEff:/ { print $2 }' "/proc/$p/status")" \
		    0000000000000000 "effective capabilities of $kind $p"
	done
done
check_eq "$n" 4 "children checked"

# The default chroot (no "chroot" line) is not / either.
regd_stop
PORT=
regd_start
for p in $(pids_titled frontend) $(pids_titled logger); do
	root=$(readlink "/proc/$p/root")
	[ "$root" != / ] || fail "process $p is not chrooted by default"
	note "default chroot of $p: $root"
done
exit 0
