#!/bin/bash
# A compromised frontend cannot reach other processes through signals or
# resource limits: gdb makes a live frontend call kill(storage_pid, 0),
# kill(0, 0) (its process group: parent and all), and prlimit64 on
# storage or with a new limit for itself; each call kills the frontend
# with SIGSYS, storage lives on and regd keeps serving.  The same calls
# aimed at the frontend itself (kill(getpid()), tgkill as raise(3) makes
# it, reading its own limit) are allowed.
. regress/lib.sh

[ "$REGD_ROOT" -eq 1 ] || skip "needs root (ptrace of the children)"
command -v gdb >/dev/null 2>&1 || fail "gdb is not installed (regress/deps.sh)"
[ "$(uname -m)" = x86_64 ] || skip "system call numbers are for x86_64"
SYS_kill=62
SYS_tgkill=234
SYS_prlimit64=302
RLIMIT_NOFILE=7

regd_start

inject()
{
	(cd "$T" && timeout 30 gdb -p "$1" -batch -nx \
	    -ex "call (long)syscall($2)" > "$T/gdb.out" 2>&1)
}

one_frontend()
{
	local n=50 p

	while [ "$n" -gt 0 ]; do
		p=$(pids_titled frontend | head -n 1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

storage=$(pids_titled storage | head -n 1)
[ -n "$storage" ] || fail "no storage process"

# Allowed: the frontend signals itself or reads its own limits.
p=$(one_frontend) || fail "no frontend"
for call in "$SYS_kill, $p, 0" "$SYS_tgkill, $p, $p, 0" \
    "$SYS_prlimit64, 0, $RLIMIT_NOFILE, 0, 0"; do
	inject "$p" "$call"
	alive "$p" || fail "frontend $p died of an allowed syscall($call)"
	grep -q SIGSYS "$T/gdb.out" && fail "SIGSYS for allowed syscall($call)"
	note "frontend $p: syscall($call) allowed"
done

# Forbidden: another pid, the process group, setting a limit.
# prlimit64's new-limit pointer 1 would only be EFAULT without the filter.
for call in "$SYS_kill, $storage, 0" "$SYS_kill, 0, 0" \
    "$SYS_kill, $REGD_PID, 0" "$SYS_prlimit64, $storage, $RLIMIT_NOFILE, 0, 0" \
    "$SYS_prlimit64, 0, $RLIMIT_NOFILE, 1, 0"; do
	p=$(one_frontend) || fail "no frontend came back"
	inject "$p" "$call"
	regd_wait_gone 5 "$p" ||
	    fail "frontend $p survived syscall($call): $(tail -3 "$T/gdb.out")"
	grep -q SIGSYS "$T/gdb.out" ||
	    grep -q "frontend $p .*died of signal 31\b" "$T/regd.log" ||
	    fail "frontend $p did not die of SIGSYS after syscall($call)"
	note "frontend $p: syscall($call) -> SIGSYS"
	alive "$storage" || fail "storage died"
	alive "$REGD_PID" || fail "regd died"
	http GET "$URL/v2/"
	check_eq "$STATUS" 200 "GET /v2/ after syscall($call)"
done
exit 0
