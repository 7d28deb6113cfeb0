#!/bin/bash
# A child that breaks the framing of its channel to the parent (here a
# frontend made, with gdb, to write a header no honest peer writes) is
# killed and replaced, like one that sends a message its rules do not
# allow: one answer to a protocol error.  The parent only stopped reading
# it before, and the frontend went on without a parent channel.
. regress/lib.sh

command -v gdb >/dev/null || skip "no gdb"
[ "$REGD_ROOT" -eq 1 ] || skip "needs root to attach to a frontend"

regd_start
old=$(pids_titled frontend | sort)
victim=$(echo "$old" | head -n 1)
survivor=$(echo "$old" | tail -n 1)

# 20 bytes of 0xff: a header whose length is over MSG_MAXPAYLOAD.  The
# parent may kill the frontend before gdb's call returns: gdb then fails,
# which is the point.
gdb -p "$victim" -batch -nx \
    -ex 'call (long)write(parent_chan.fd, "\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377", 20)' \
    -ex detach >"$T/gdb.out" 2>&1

t0=$(date +%s%N)
while alive "$victim" && [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000 ]
do
	sleep 0.05
done
alive "$victim" && fail "frontend $victim still alive 3 s after garbage
$(tail -n 5 "$T/gdb.out")"
grep -q "frontend .*protocol error (malformed message)" "$T/regd.log" ||
    fail "the log does not name the protocol error"
t0=$(date +%s%N)
while [ "$(pids_titled frontend | wc -l)" -ne 2 ] &&
    [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000 ]; do
	sleep 0.05
done
check_eq "$(pids_titled frontend | wc -l)" 2 "frontends after the kill"
alive "$survivor" || fail "the other frontend died too"
http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ after the replacement"
alive "$REGD_PID" || fail "the parent died"
exit 0
