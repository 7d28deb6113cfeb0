#!/bin/bash
# With the webhook receiver down, pushes are answered at once and their
# events wait in the queue; regd's whole process tree is killed -9 and
# restarted; when the receiver comes back, every event of every answered
# push arrives, in the order of the pushes (at least once: a duplicate
# would be allowed, a missing event or a reordering is not).  Then the
# same with only the parent killed -9 right after the last push.
. regress/lib.sh
. regress/notifylib.sh

WPORT=$(free_port)
QUEUE=$T/queue
conf_notify="notify queue \"$QUEUE\"
notify \"hook\" {
	url \"http://127.0.0.1:$WPORT/\"
	timeout 2s
	backoff 1s max 2s
}"
regd_start "$conf_notify"

# pushes N TAG: N blobs and a manifest naming them, sequentially; the
# digests of the answered ones, in order, go to $T/sent.
pushes()
{
	local i f d layers=""

	for i in $(seq 1 "$1"); do
		f=$T/blob.$2.$i
		make_blob $((100 + i)) "$f"
		d=$(sha "$f")
		push_blob "kill9/app" "$f"
		echo "push $d" >> "$T/sent"
		layers="$layers{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$d\",\"size\":$((100 + i))},"
	done
	echo '{}' > "$T/cfg.$2"
	push_blob "kill9/app" "$T/cfg.$2"
	echo "push $(sha "$T/cfg.$2")" >> "$T/sent"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":3},"layers":[%s]}' \
	    "$(sha "$T/cfg.$2")" "${layers%,}" > "$T/man.$2"
	push_manifest "kill9/app" "$2" "$T/man.$2" \
	    application/vnd.oci.image.manifest.v1+json
	echo "push $(sha "$T/man.$2")" >> "$T/sent"
}

start=$(date +%s%N)
pushes 20 one
ms=$(( ($(date +%s%N) - start) / 1000000 ))
note "22 pushes with the receiver down: $ms ms"
out=$($REGCTL show notify)
note "$out"
check_match "$(echo "$out" | awk '$1 == "hook" { print $2 }')" '^22$' \
    "events queued while the receiver is down"
echo "$out" | grep -q 'last error.*\(refused\|connect\)' ||
    fail "show notify gives no connection error: $out"

# kill -9 of every process of the tree, at once.
pids=$(procs_of "$REGD_PID" | awk '{ print $1 }')
kill -KILL $pids
regd_wait_gone 5 $pids || fail "processes left after kill -9"
wait "$REGD_PID" 2>/dev/null
REGD_PID=
regd_launch

webhook_start "$WPORT"

# got: the "action digest" lines received, in order, duplicates removed
# where they repeat an earlier delivery of the same event id.
got()
{
	jq -r -s '[.[].body.events[]] | unique_by(.id) | sort_by(.timestamp) |
	    .[] | "\(.action) \(.target.digest)"' "$T/events" 2>/dev/null
}
wait_events 22 || fail "only $(got | wc -l) of 22 events after the restart"
got > "$T/got"
diff "$T/sent" "$T/got" > "$T/diff" ||
    fail "events after kill -9 differ from the pushes: $(cat "$T/diff")"
# The order of arrival is the order of the pushes too.
jq -r -s '[.[].body.events[]] | .[] | "\(.action) \(.target.digest)"' \
    "$T/events" | awk '!seen[$0]++' > "$T/arrival"
diff "$T/sent" "$T/arrival" > "$T/diff" ||
    fail "events arrived out of order: $(cat "$T/diff")"
dups=$(( $(jq -s '[.[].body.events[]] | length' "$T/events") - 22 ))
note "duplicates after kill -9 of the tree: $dups"

# Now only the parent, right after a push: the children see it go, and
# the events process reads what the frontends sent before it exits.
pushes 5 two
kill -KILL "$REGD_PID"
wait "$REGD_PID" 2>/dev/null
REGD_PID=
for i in $(seq 1 100); do
	[ -z "$(pgrep -f "regd: notify")" ] && break
	sleep 0.1
done
regd_launch
wait_events 29 || fail "only $(got | wc -l) of 29 events after the parent's kill -9"
got > "$T/got"
diff "$T/sent" "$T/got" > "$T/diff" ||
    fail "events after the parent's kill -9 differ: $(cat "$T/diff")"
for i in $(seq 1 30); do
	out=$($REGCTL show notify)
	[ "$(echo "$out" | awk '$1 == "hook" { print $2 }')" = 0 ] && break
	sleep 0.1
done
note "$out"
check_eq "$(echo "$out" | awk '$1 == "hook" { print $2 }')" 0 "queued at the end"
exit 0
