#!/bin/bash
# regress: long 30
# A receiver that takes 3 s to answer each delivery does not slow pushes
# or pulls: every request is answered as fast as with no endpoint at all
# (each pair under 2.5 s, room for a loaded machine; the receiver alone
# would hold the first for 3 s), the events wait in the queue (regctl
# show notify counts them) and all arrive later, in order.
. regress/lib.sh
. regress/notifylib.sh

WPORT=$(free_port)
webhook_start "$WPORT" 3
regd_start "notify queue \"$T/queue\"
notify \"slow\" {
	url \"http://127.0.0.1:$WPORT/\"
	timeout 10s
}"

N=30
worst=0
: > "$T/sent"
for i in $(seq 1 "$N"); do
	make_blob $((1000 + i)) "$T/b$i"
	t0=$(date +%s%N)
	push_blob slow/app "$T/b$i"
	http GET "$URL/v2/slow/app/blobs/$(sha "$T/b$i")"
	check_eq "$STATUS" 200 "pull $i"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -gt "$worst" ] && worst=$ms
	printf 'push %s\npull %s\n' "$(sha "$T/b$i")" "$(sha "$T/b$i")" >> "$T/sent"
done
note "$N pushes and pulls against a 3 s receiver: slowest pair $worst ms"
[ "$worst" -lt 2500 ] || fail "a push and pull took $worst ms"
q=$(notify_col slow 2)
note "queued right after: $q"
[ "$q" -gt 0 ] || fail "nothing queued while the receiver is slow"
[ "$(events_count)" -lt $((2 * N)) ] ||
    fail "the receiver had every event already: not slow enough to prove it"

wait_events $((2 * N)) 60 || fail "only $(events_count) of $((2 * N)) events"
jq -r -s '[.[].body.events[]] | .[] | "\(.action) \(.target.digest)"' \
    "$T/events" > "$T/got"
diff "$T/sent" "$T/got" > "$T/diff" ||
    fail "events differ from the requests: $(cat "$T/diff")"
exit 0
