#!/bin/bash
# The answer to a push waits until its event is on disk in the queue,
# at most a second: with the events process stopped (SIGSTOP) a push is
# answered 201 after about a second while a pull is answered at once;
# resumed, the event still goes out.  Pushes each followed at once by a
# kill -9 of the whole tree lose no event.
. regress/lib.sh
. regress/notifylib.sh

WPORT=$(free_port)
regd_start "notify queue \"$T/queue\"
notify \"s\" {
	url \"http://127.0.0.1:$WPORT/\"
	backoff 1s max 1s
}"
: > "$T/sent"

msecs()
{
	local t0=$(date +%s%N)

	"$@"
	echo $(( ($(date +%s%N) - t0) / 1000000 )) > "$T/ms"
}

make_blob 100 "$T/b0"
msecs push_blob sync/app "$T/b0"
echo "push $(sha "$T/b0")" >> "$T/sent"
note "push with the events process running: $(cat "$T/ms") ms"
[ "$(cat "$T/ms")" -lt 800 ] || fail "push took $(cat "$T/ms") ms"

n=$(pids_titled notify)
kill -STOP "$n"
make_blob 101 "$T/b1"
msecs push_blob sync/app "$T/b1"
echo "push $(sha "$T/b1")" >> "$T/sent"
ms=$(cat "$T/ms")
note "push with the events process stopped: $ms ms"
[ "$ms" -ge 900 ] || fail "push answered in $ms ms without its event queued"
[ "$ms" -lt 3000 ] || fail "push waited $ms ms: the wait is not bounded"
msecs http GET "$URL/v2/sync/app/blobs/$(sha "$T/b0")"
check_eq "$STATUS" 200 "pull"
echo "pull $(sha "$T/b0")" >> "$T/sent"
[ "$(cat "$T/ms")" -lt 800 ] || fail "a pull waited $(cat "$T/ms") ms"
kill -CONT "$n"

for i in 2 3 4 5; do
	make_blob $((100 + i)) "$T/b$i"
	push_blob sync/app "$T/b$i"
	echo "push $(sha "$T/b$i")" >> "$T/sent"
	pids=$(procs_of "$REGD_PID" | awk '{ print $1 }')
	kill -KILL $pids
	regd_wait_gone 5 $pids || fail "processes left after kill -9"
	wait "$REGD_PID" 2>/dev/null
	REGD_PID=
	regd_launch
done

webhook_start "$WPORT"
wait_events 7 20 || fail "only $(events_count) of 7 events"
jq -r -s '[.[].body.events[]] | unique_by(.id) | sort_by(.timestamp) |
    .[] | "\(.action) \(.target.digest)"' "$T/events" > "$T/got"
diff "$T/sent" "$T/got" > "$T/diff" ||
    fail "events differ from the requests: $(cat "$T/diff")"
exit 0
