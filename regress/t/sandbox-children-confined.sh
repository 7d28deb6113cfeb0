#!/bin/bash
# Every child of a running regd (frontends, storage, logger) runs under a
# seccomp filter in filter mode (Seccomp: 2) with no_new_privs, so an
# execve of a setuid program gains nothing; a frontend's root is the
# empty chroot, so it cannot see the storage directory, and none of its
# descriptors is a file in it.  sandbox_kill proves what each filter
# kills; this proves the daemon's processes carry the filters.
. regress/lib.sh

[ "$REGD_ROOT" -eq 1 ] || skip "needs root (chroot)"
mkdir -p "$T/empty"
regd_start "chroot \"$T/empty\""

# Some content, so the storage directory is not empty.
push_image sandbox/app v1
storage=$(readlink -f "$T/storage")
[ -d "$storage/docker/registry/v2/blobs" ] || fail "nothing stored"

field()
{
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

n=0
for kind in frontend storage logger; do
	pids=$(pids_titled "$kind")
	[ -n "$pids" ] || fail "no $kind process"
	for p in $pids; do
		n=$((n + 1))
		check_eq "$(field "$p" Seccomp)" 2 "Seccomp of $kind $p"
		check_eq "$(field "$p" NoNewPrivs)" 1 "NoNewPrivs of $kind $p"
		f=$(field "$p" Seccomp_filters)
		[ -z "$f" ] || [ "$f" -ge 1 ] ||
		    fail "Seccomp_filters of $kind $p: $f"
		note "$kind $p: Seccomp 2, NoNewPrivs 1, filters ${f:-?}"
	done
done
[ "$n" -ge 4 ] || fail "only $n children checked"

for p in $(pids_titled frontend); do
	root=$(readlink "/proc/$p/root")
	[ "$root" != / ] || fail "frontend $p is not chrooted"
	case $root in
	"$storage" | "$storage"/*)
		fail "frontend $p is chrooted into the storage ($root)"
		;;
	esac
	# What the frontend sees as / is empty: no docker/, no files.
	seen=$(ls -A "/proc/$p/root/")
	check_eq "$seen" "" "contents of frontend $p's root"
	[ ! -e "/proc/$p/root/docker" ] ||
	    fail "frontend $p sees docker/ at its root"
	# And it holds no descriptor to anything under the storage.
	for fd in /proc/"$p"/fd/*; do
		t=$(readlink "$fd" 2>/dev/null) || continue
		case $t in
		"$storage"/* | "$storage")
			fail "frontend $p holds $fd -> $t"
			;;
		esac
	done
done

# The storage process does see the blobs, from its own root.
for p in $(pids_titled storage); do
	[ -d "/proc/$p/root/docker/registry/v2/blobs" ] ||
	    fail "storage $p does not see its tree"
done

# The daemon still serves after the inspection.
http GET "$URL/v2/sandbox/app/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 200 "GET manifest after the checks"
regd_stop
exit 0
