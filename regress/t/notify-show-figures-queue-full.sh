#!/bin/bash
# regctl show notify: queued events, failures and the last error of an
# endpoint whose receiver answers 500, then delivered and an empty queue
# once it answers 200.  A full queue (queue size 64K) drops the newest
# events, counts them as dropped, and requests go on being answered.
. regress/lib.sh
. regress/notifylib.sh

WPORT=$(free_port)
webhook_start "$WPORT" 0 500
regd_start "notify queue \"$T/queue\"
notify \"fig\" {
	url \"http://127.0.0.1:$WPORT/hook\"
	backoff 1s max 1s
	events push
}
notify \"small\" {
	url \"http://127.0.0.1:$WPORT/small\"
	events pull
	repository \"fig/*\"
	queue size 64K
	backoff 1s max 1s
}"

for i in 1 2 3 4 5; do
	make_blob $((200 + i)) "$T/b$i"
	push_blob fig/app "$T/b$i"
done
sleep 2.5
out=$($REGCTL show notify) || fail "regctl show notify: $out"
echo "$out" >&2
check_eq "$(notify_col fig 2)" 5 "queued"
check_eq "$(notify_col fig 4)" 0 "delivered"
f=$(notify_col fig 5)
[ "$f" -ge 2 ] || fail "failures $f after 2.5 s of 500s with a 1 s backoff"
echo "$out" | grep -q "last error .*HTTP status 500" ||
    fail "no last error HTTP status 500 in: $out"
check_eq "$(notify_col small 2)" 0 "pushes queued for a pull-only endpoint"

# Pulls until the 64K queue of "small" is full: about 700 bytes an event.
d=$(sha "$T/b1")
urls=
for i in $(seq 1 150); do
	urls="$urls -o /dev/null $URL/v2/fig/app/blobs/$d"
done
# shellcheck disable=SC2086
curl -s -w '%{http_code}\n' $urls | sort | uniq -c > "$T/codes"
check_eq "$(awk '{ print $2 }' "$T/codes")" 200 "answers while the queue fills"
# And pulls of another repository are no event for it.
push_blob other/app "$T/b1"
http GET "$URL/v2/other/app/blobs/$d"
check_eq "$STATUS" 200 "pull outside the pattern"
sleep 0.5
out=$($REGCTL show notify)
echo "$out" >&2
q=$(notify_col small 2)
bytes=$(notify_col small 3)
dropped=$(notify_col small 6)
[ "$bytes" -le 65536 ] || fail "queue holds $bytes bytes, over 64K"
[ "$dropped" -gt 0 ] || fail "no event dropped with a full queue"
check_eq "$((q + dropped))" 150 "queued + dropped pulls"

# The receiver answers 200 again: everything queued is delivered.
webhook_stop
webhook_start "$WPORT"
for i in $(seq 1 50); do
	[ "$(notify_col fig 2)" = 0 ] && [ "$(notify_col small 2)" = 0 ] &&
	    break
	sleep 0.1
done
out=$($REGCTL show notify)
echo "$out" >&2
check_eq "$(notify_col fig 2)" 0 "queued after recovery"
check_eq "$(notify_col fig 4)" 6 "delivered pushes"
check_eq "$(notify_col small 4)" "$q" "delivered pulls"
check_eq "$(jq -s '[.[] | select(.path == "/small") | .body.events[]] |
    map(select(.target.repository != "fig/app")) | length' "$T/events")" 0 \
    "events outside the repository pattern"
exit 0
