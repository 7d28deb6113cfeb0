#!/bin/bash
# SIGTERM stops every regd process within one second, even with a client
# connection open, and regd exits 0.
. regress/lib.sh

regd_start
pids=$(procs_of "$REGD_PID" | awk '{ print $1 }')
check_eq "$(echo "$pids" | wc -l)" 5 "processes before SIGTERM"

# An idle keep-alive connection and one in the middle of its headers.
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "connect"
printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n' >&3
exec 4<>"/dev/tcp/127.0.0.1/$PORT" || fail "connect"
printf 'GET /v2/ HTTP/1.1\r\nHo' >&4
sleep 0.2

t0=$(date +%s%N)
kill -TERM "$REGD_PID"
if ! regd_wait_gone 1 $pids; then
	procs_of "$REGD_PID" >&2
	fail "regd processes remain 1 s after SIGTERM"
fi
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
note "all processes gone $ms ms after SIGTERM"
wait "$REGD_PID"
rc=$?
REGD_PID=
check_eq "$rc" 0 "exit status after SIGTERM"
exec 3>&- 4>&-
[ ! -e "$T/regd.sock" ] || note "the control socket file was left behind"
exit 0
