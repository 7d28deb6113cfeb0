#!/bin/bash
# A frontend killed with SIGKILL is replaced at once (no back-off: well
# under a second on a quiet machine; the bound here is 5 s, as a loaded
# test machine can starve the new process), the new one answers, and the
# log says what happened.
. regress/lib.sh

regd_start
old=$(pids_titled frontend | sort)
check_eq "$(echo "$old" | wc -l)" 2 "frontends at start"
victim=$(echo "$old" | head -n 1)
survivor=$(echo "$old" | tail -n 1)

t0=$(date +%s%N)
kill -KILL "$victim"
new=
while :; do
	now=$(pids_titled frontend | sort)
	if [ "$(echo "$now" | wc -l)" -eq 2 ] &&
	    ! echo "$now" | grep -qx "$victim"; then
		new=$(echo "$now" | grep -vx "$survivor")
		break
	fi
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 10000 ] || break
	sleep 0.02
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ -n "$new" ] || fail "no new frontend 10 s after killing $victim: $now"
note "new frontend $new after $ms ms"
[ "$ms" -le 5000 ] || fail "respawn took $ms ms (more than 5 s)"
check_eq "$(proc_ppid "$new")" "$REGD_PID" "parent of the new frontend"

http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ after the respawn"

# Kill both at once: nobody is left to answer until the parent acts.
t0=$(date +%s%N)
kill -KILL $(pids_titled frontend)
ok=0
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 10000 ]; do
	if curl -sf -o /dev/null --max-time 1 "$URL/v2/"; then
		ok=1
		break
	fi
	sleep 0.02
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ok" -eq 1 ] || fail "/v2/ not answered 10 s after killing all frontends"
note "/v2/ answered again $ms ms after killing both frontends"
[ "$ms" -le 5000 ] || fail "/v2/ came back after $ms ms (more than 5 s)"
check_eq "$(pids_titled frontend | wc -l)" 2 "frontends after the respawn"

grep -E "frontend $victim\b.*(restart|respawn)" "$T/regd.log" >&2 ||
    fail "the log does not say frontend $victim was restarted"
alive "$REGD_PID" || fail "the parent died"
exit 0
