#!/bin/bash
# Without its storage process regd cannot work: when storage is killed,
# regd exits with a non-zero status and leaves no process behind.
. regress/lib.sh

regd_start
pids=$(procs_of "$REGD_PID" | awk '{ print $1 }')
st=$(pids_titled storage)
[ -n "$st" ] || fail "no storage process"

t0=$(date +%s%N)
kill -KILL "$st"
if ! regd_wait_gone 5 $pids; then
	procs_of "$REGD_PID" >&2
	fail "regd processes remain 5 s after storage was killed"
fi
note "all gone after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
wait "$REGD_PID"
rc=$?
REGD_PID=
[ "$rc" -ne 0 ] || fail "regd exited 0 after losing storage"
note "regd exited $rc"
grep -i storage "$T/regd.log" | tail -n 3 >&2
for p in $pids; do
	alive "$p" && fail "process $p still runs"
done
exit 0
