#!/bin/bash
# Inside a running regd, each child dies of SIGSYS the moment it makes a
# call its seccomp filter forbids: open/openat/socket/execve in a
# frontend, socket/connect/execve in storage and in the logger.  gdb
# attaches to the live process and makes the call from inside it; the
# same injection of an allowed call (getpid) leaves the process running,
# so the death is the filter's doing, not the debugger's.
. regress/lib.sh

[ "$REGD_ROOT" -eq 1 ] || skip "needs root (ptrace of the children)"
command -v gdb >/dev/null 2>&1 || fail "gdb is not installed (regress/deps.sh)"

# x86_64 system call numbers.
[ "$(uname -m)" = x86_64 ] || skip "system call numbers are for x86_64"
SYS_open=2
SYS_getpid=39
SYS_socket=41
SYS_connect=42
SYS_execve=59
SYS_openat=257

regd_start

# inject PID NAME ARGS: make PID call syscall(SYS_NAME, ARGS) from inside.
inject()
{
	local p=$1 name=$2 nr

	nr=$(eval echo "\$SYS_$name")
	# In $T: gdb may dump core when its inferior vanishes mid-call.
	(cd "$T" && timeout 30 gdb -p "$p" -batch -nx \
	    -ex "call (long)syscall($nr${3:+, $3})" > "$T/gdb.out" 2>&1)
}

# killed_by_filter PID KIND NAME ARGS
killed_by_filter()
{
	local p=$1 kind=$2 name=$3

	inject "$p" "$name" "$4"
	regd_wait_gone 5 "$p" ||
	    fail "$kind $p survived a forbidden $name: $(tail -3 "$T/gdb.out")"
	# gdb names the signal, unless the process had threads (storage's
	# upload threads): the whole process is gone before gdb can look,
	# and regd's log names the signal instead (31 is SIGSYS).
	grep -q SIGSYS "$T/gdb.out" ||
	    grep -q "$kind $p .*died of signal 31\b" "$T/regd.log" ||
	    fail "$kind $p did not die of SIGSYS after $name: $(tail -3 "$T/gdb.out")"
	note "$kind $p: $name -> SIGSYS"
	kills=$((kills + 1))
}

# survives PID KIND: an allowed call through the same path is harmless.
survives()
{
	inject "$1" getpid
	alive "$1" || fail "$2 $1 died of an allowed getpid: $(tail -3 "$T/gdb.out")"
	grep -q SIGSYS "$T/gdb.out" && fail "$2 $1 got SIGSYS for getpid"
	note "$2 $1: getpid allowed"
}

# one_of KIND: a pid of that kind, waiting for a respawn if need be.
one_of()
{
	local n=50 p

	while [ "$n" -gt 0 ]; do
		p=$(pids_titled "$1" | head -n 1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# restart: storage or logger gone, regd exits by design; start it again.
restart()
{
	local pids

	pids=$(procs_of "$REGD_PID" | awk '{ print $1 }')
	regd_wait_gone 10 $pids || fail "regd did not exit after its $1 died"
	wait "$REGD_PID"
	note "regd exited with status $? after its $1 died"
	REGD_PID=
	regd_launch
}

kills=0
for kind in frontend storage logger; do
	p=$(one_of "$kind") || fail "no $kind process"
	survives "$p" "$kind"
done

# Frontends are respawned by the parent after each kill.
for call in "open 0, 0" "openat -100, 0, 0" "socket 2, 1, 0" \
    "execve 0, 0, 0"; do
	p=$(one_of frontend) || fail "no frontend came back"
	killed_by_filter "$p" frontend ${call%% *} "${call#* }"
	http GET "$URL/v2/"
	check_eq "$STATUS" 200 "GET /v2/ after a frontend was killed"
done

for kind in storage logger; do
	for call in "socket 2, 1, 0" "connect 0, 0, 0" "execve 0, 0, 0"; do
		p=$(one_of "$kind") || fail "no $kind process"
		killed_by_filter "$p" "$kind" ${call%% *} "${call#* }"
		# regd exits by design; a parent that restarts the child
		# would do as well.  Give it a moment to do either.
		n=100
		while alive "$REGD_PID" && [ -z "$(pids_titled "$kind")" ]; do
			n=$((n - 1))
			[ "$n" -gt 0 ] || fail "regd lives on without a $kind"
			sleep 0.1
		done
		alive "$REGD_PID" || restart "$kind"
	done
done
check_eq "$kills" 10 "children killed by their filter"
http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ at the end"
exit 0
