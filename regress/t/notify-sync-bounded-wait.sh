#!/bin/bash
# The answer to a push waits until its event is on disk in the queue,
# at most a second: with the events process stopped (SIGSTOP) a push is
# answered 201 after a second or more (its frontend logs that it went
# without its event on disk), while a pull sent meanwhile is answered
# before it; resumed, the event still goes out.  Pushes each followed at
# once by a kill -9 of the whole tree lose no event.  No upper bound on
# times (a loaded machine is slow): lower bounds, orders, and a 30 s
# guard against a wait that never ends.
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

n=$(pids_titled notify)
kill -STOP "$n"
make_blob 101 "$T/b1"
# The push in the background (curl's own output), a pull meanwhile.
t0=$(date +%s%N)
curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/b1" \
    "$URL/v2/sync/app/blobs/uploads/?digest=$(sha "$T/b1")" > "$T/push1" &
pushpid=$!
# The pull once the push is held: its blob is in the store by then.
# Neither this HEAD nor the GET waits for the stopped events process.
wait_for "push of b1 not stored" \
    curl -sf -o /dev/null -I "$URL/v2/sync/app/blobs/$(sha "$T/b1")"
http GET "$URL/v2/sync/app/blobs/$(sha "$T/b0")"
check_eq "$STATUS" 200 "pull"
kill -0 "$pushpid" 2>/dev/null ||
    fail "the pull came after the push was answered: it waited too"
wait "$pushpid"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "$(cat "$T/push1")" 201 "push with the events process stopped (000: not answered in 30 s, the wait is not bounded)"
# The events in order: the push's (made when storage answered it), the
# HEAD that found its blob (a pull, as in Distribution), the pull.
echo "push $(sha "$T/b1")" >> "$T/sent"
echo "pull $(sha "$T/b1")" >> "$T/sent"
echo "pull $(sha "$T/b0")" >> "$T/sent"
note "push with the events process stopped: $ms ms"
[ "$ms" -ge 900 ] || fail "push answered in $ms ms without its event queued"
wait_for "no frontend logged an answer sent without its event" \
    grep -q "answers sent before their event was on disk" "$T/regd.log"
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
