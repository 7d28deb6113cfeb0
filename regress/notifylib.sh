# regress/notifylib.sh: the webhook receiver of the notify tests, sourced
# after regress/lib.sh.

WPID=
trap 'st=$?; [ -n "$WPID" ] && kill "$WPID" 2>/dev/null; (exit $st); regd_cleanup' EXIT

# webhook_start PORT [SLEEP] [STATUS]: regress/webhook.py on PORT,
# recording to $T/events.
webhook_start()
{
	local i

	rm -f "$T/events.up"
	python3 regress/webhook.py "$@" "$T/events" &
	WPID=$!
	for i in $(seq 1 50); do
		[ -f "$T/events.up" ] && return 0
		sleep 0.1
	done
	fail "webhook receiver did not start"
}

webhook_stop()
{
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null
	wait "$WPID" 2>/dev/null
	WPID=
}

# events_count: events received so far (duplicates counted).
events_count()
{
	local n

	n=$(jq -s '[.[].body.events[]] | length' "$T/events" 2>/dev/null |
	    tail -n 1)
	echo "${n:-0}"
}

# wait_events N [SECONDS]: until N events were received.
wait_events()
{
	local i n=$(( ${2:-15} * 10 ))

	for i in $(seq 1 "$n"); do
		[ "$(events_count)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# notify_col ENDPOINT COLUMN: a figure of regctl show notify (2: queued,
# 3: queue bytes, 4: delivered, 5: failures, 6: dropped, 7: state).
notify_col()
{
	$REGCTL show notify | awk -v e="$1" -v c="$2" '$1 == e { print $c }'
}
