#!/bin/sh
#
# regress/fresh.sh ("make test-fresh", as root; not part of "make test"):
# the README's two commands on a clean Debian 12.  A root made by
# debootstrap (its default set: no make, no compiler, no curl) gets a copy
# of this tree in /root/regd, and in a chroot there:
#
# 1. "./dev run" as written, in the background: it must install what it
#    needs, build and serve 127.0.0.1:5000, which then answers the
#    README's walkthrough (curl, etc/mkimage.sh, skopeo copy both ways,
#    regctl show status) run inside the chroot; then regd is stopped.
# 2. "./dev test TESTS=...": the same command with a selection of tests
#    (FRESH_TESTS), whose last line must be "N passed, 0 failed".  The
#    selection leaves out the tests that start podman (it needs user
#    namespaces, cgroups and a storage driver a chroot does not give),
#    nginx and Distribution (services with their own set-up) and the long
#    load tests; FRESH_TESTS=all runs everything.
#
# The chroot shares this machine's network: port 5000 must be free.
# FRESH_DIR holds base/ (the pristine debootstrap, kept and reused: remove
# it or set FRESH_REBOOTSTRAP=1 to bootstrap again) and root/ (made anew
# from base/ each run).  The mirror is this machine's Debian mirror
# (/etc/apt/sources.list*), or FRESH_MIRROR.

cd "$(dirname "$0")/.." || exit 1
top=$PWD
DIR=${FRESH_DIR:-/var/tmp/regd-fresh}
ROOT=$DIR/root
TESTS=${FRESH_TESTS:-"test_* replay_* conf-* oci-* http-v2-base http-pipelined
http-chunked-body log-access-line fsck-* ctl-* gc-dry-run-prepared-tree
tls-handshake-versions tls-plain-http-400 compat-registry2-root-owned
readme-walkthrough client-skopeo-copy-oci-layout"}
[ "$TESTS" = all ] && TESTS=

say()
{
	echo "fresh: $*"
}

die()
{
	echo "fresh: FAIL: $*" >&2
	exit 1
}

now()
{
	date +%s
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts)"

mirror=${FRESH_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
		/^deb / && $2 ~ /debian\/?$/ { print $2; exit }
		/^URIs:/ && $2 ~ /debian\/?$/ { print $2; exit }')
fi
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

umount_all()
{
	for m in dev/pts dev sys proc; do
		mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"
	done
}

RUNPID=
cleanup()
{
	if [ -n "$RUNPID" ]; then
		kill -TERM "-$RUNPID" 2>/dev/null
		sleep 2
		kill -KILL "-$RUNPID" 2>/dev/null
	fi
	umount_all
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

t0=$(now)
if [ -n "${FRESH_REBOOTSTRAP:-}" ] || [ ! -x "$DIR/base/bin/sh" ]; then
	command -v debootstrap > /dev/null ||
	    apt-get install -y -q debootstrap > /dev/null ||
	    die "cannot install debootstrap"
	rm -rf "$DIR/base"
	mkdir -p "$DIR"
	say "debootstrap bookworm from $mirror"
	debootstrap bookworm "$DIR/base" "$mirror" > "$DIR/debootstrap.log" \
	    2>&1 || die "debootstrap failed, see $DIR/debootstrap.log"
fi
t1=$(now)
say "bootstrap: $((t1 - t0)) s"

umount_all
rm -rf "$ROOT"
cp -a "$DIR/base" "$ROOT" || die "cp base"
for p in make gcc cc curl git; do
	chroot "$ROOT" sh -c "command -v $p" > /dev/null 2>&1 &&
	    die "the fresh root already has $p"
done
mkdir -p "$ROOT/root/regd"
git -C "$top" ls-files --cached --others --exclude-standard -z |
    (cd "$top" && xargs -0 tar -cf - --no-recursion) |
    tar -C "$ROOT/root/regd" -xf - || die "copying the tree"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc" && mount -t sysfs sys "$ROOT/sys" &&
    mount --bind /dev "$ROOT/dev" && mount --bind /dev/pts "$ROOT/dev/pts" ||
    die "mounts"

in_root()
{
	chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    sh -c "cd /root/regd && $1"
}

if ss -Htln 'sport = :5000' 2>/dev/null | grep -q .; then
	die "port 5000 is taken on this machine"
fi

# 1. ./dev run, in its own process group so that it can be stopped.
say "./dev run"
setsid chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    sh -c 'cd /root/regd && exec ./dev run' > "$DIR/run.log" 2>&1 &
RUNPID=$!
n=0
until curl -sf -o /dev/null --max-time 2 http://127.0.0.1:5000/v2/; do
	kill -0 "$RUNPID" 2>/dev/null ||
	    { tail -30 "$DIR/run.log" >&2; die "./dev run ended"; }
	n=$((n + 1))
	[ "$n" -lt 1800 ] || die "./dev run did not serve in 30 min"
	sleep 1
done
t2=$(now)
say "./dev run serves after $((t2 - t1)) s"
grep -q "make run: no /etc/regd.conf, built-in defaults" "$DIR/run.log" ||
    die "make run did not say which configuration it uses"
in_root 'set -e
curl -si http://127.0.0.1:5000/v2/ | head -1
sh etc/mkimage.sh ./image
skopeo copy --dest-tls-verify=false oci:./image:latest \
    docker://127.0.0.1:5000/library/image:latest
curl -s http://127.0.0.1:5000/v2/_catalog
skopeo copy --src-tls-verify=false \
    docker://127.0.0.1:5000/library/image:latest oci:./back:latest
./regctl/regctl show status' > "$DIR/walk.log" 2>&1 ||
    { cat "$DIR/walk.log" >&2; die "the walkthrough failed in the root"; }
grep -q '"repositories":\["library/image"\]' "$DIR/walk.log" ||
    die "catalog after the push: $(cat "$DIR/walk.log")"
kill -TERM "-$RUNPID" 2>/dev/null
wait "$RUNPID"
RUNPID=
t3=$(now)
say "walkthrough passed ($((t3 - t2)) s)"

# 2. ./dev test with the selection.
say "./dev test TESTS='$(echo $TESTS)'"
in_root "./dev test TESTS='$(echo $TESTS)'" > "$DIR/test.log" 2>&1
rc=$?
t4=$(now)
last=$(tail -n 1 "$DIR/test.log")
say "./dev test: exit $rc after $((t4 - t3)) s, last line: $last"
echo "$last" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$' ||
    die "the last line is not the summary (see $DIR/test.log)"
[ "$rc" -eq 0 ] || { grep -E '^(FAIL|failed)' "$DIR/test.log" >&2;
    die "tests failed in the fresh root (see $DIR/test.log)"; }
say "PASS in $((t4 - t0)) s (bootstrap $((t1 - t0)), run $((t3 - t1))," \
    "test $((t4 - t3)))"
