#!/bin/bash
# An endpoint with a 64K queue and a receiver that takes a second per
# delivery: the queue fills, the newest events are dropped and counted,
# delivered lines are compacted away while new ones come, and in the end
# the receiver has the events that were not dropped, each once, in the
# order of the requests, with no line torn by the compaction.
. regress/lib.sh
. regress/notifylib.sh

WPORT=$(free_port)
webhook_start "$WPORT" 1
regd_conf "notify queue \"$T/queue\"
notify \"c\" {
	url \"http://127.0.0.1:$WPORT/\"
	queue size 64K
	events pull
}"
regd_launch -v

make_blob 100 "$T/b"
push_blob comp/app "$T/b"
d=$(sha "$T/b")
total=0
for round in 1 2 3 4 5 6; do
	# One connection, 60 pulls; each event names its request in the UA.
	args=
	for i in $(seq 1 60); do
		[ -n "$args" ] && args="$args --next"
		args="$args -s -o /dev/null -A ua-$(( (round - 1) * 60 + i )) $URL/v2/comp/app/blobs/$d"
	done
	# shellcheck disable=SC2086
	curl $args > /dev/null
	total=$((total + 60))
	sleep 0.7
done
note "pulls: $total"
for i in $(seq 1 300); do
	[ "$(notify_col c 2)" = 0 ] && [ "$(notify_col c 7)" = idle ] && break
	sleep 0.1
done
out=$($REGCTL show notify)
note "$out"
dropped=$(notify_col c 6)
got=$(events_count)
note "received $got, dropped $dropped"
check_eq "$((got + dropped))" "$total" "received + dropped"
[ "$dropped" -gt 0 ] || fail "nothing dropped: the queue never filled"
grep -q 'queue compacted' "$T/regd.log" || fail "the queue was never compacted"
# Each once, in increasing order of the requests.
jq -r -s '[.[].body.events[]] | .[].request.useragent' "$T/events" |
    sed -e 's/^ua-//' > "$T/order"
sort -n -u "$T/order" > "$T/sorted"
diff "$T/order" "$T/sorted" > /dev/null ||
    fail "events out of order or repeated: $(paste -sd' ' "$T/order")"
check_eq "$(head -n 1 "$T/order")" 1 "first event"
exit 0
