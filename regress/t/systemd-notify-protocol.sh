#!/bin/bash
# regd speaks sd_notify(3) to $NOTIFY_SOCKET from its main process:
# READY=1 once the children are up, RELOADING=1 with MONOTONIC_USEC= then
# READY=1 around a SIGHUP reload (with the reason on STATUS= when the new
# configuration is refused), STOPPING=1 on SIGTERM.
. regress/lib.sh

command -v python3 > /dev/null || skip "no python3"
NOTES=$T/notify.txt
python3 regress/notify-listen.py "$T/notify.sock" "$NOTES" &
LISTENER=$!
trap 'st=$?; kill $LISTENER 2>/dev/null; (exit $st); regd_cleanup' EXIT
for i in $(seq 1 50); do
	[ -f "$NOTES.up" ] && break
	sleep 0.1
done
[ -f "$NOTES.up" ] || fail "notify listener did not start"

# wait_note N REGEX: wait until line N of the notes exists; print it.
wait_note()
{
	local i l

	for i in $(seq 1 100); do
		l=$(sed -n "${1}p" "$NOTES" 2>/dev/null)
		if [ -n "$l" ]; then
			printf '%s\n' "$l"
			return 0
		fi
		sleep 0.1
	done
	fail "no notification $1 (want /$2/); got: $(cat "$NOTES" 2>/dev/null)"
}

regd_conf
NOTIFY_SOCKET=$T/notify.sock regd_launch
l=$(wait_note 1 READY) || exit 1
check_match "$l" "^$REGD_PID READY=1\|STATUS=serving 2 frontends$" \
    "first notification"
# Ready means every child was up: two frontends, storage and logger.
check_eq "$(pids_titled frontend | wc -l)" 2 "frontends when ready"
check_eq "$(pids_titled storage | wc -l)" 1 "storage when ready"
check_eq "$(pids_titled logger | wc -l)" 1 "logger when ready"

# A good reload: four frontends.
cp "$T/regd.conf" "$T/regd.conf.good"
sed -i -e 's/^prefork 2$/prefork 4/' "$T/regd.conf"
kill -HUP "$REGD_PID"
l=$(wait_note 2 RELOADING) || exit 1
check_match "$l" "^$REGD_PID RELOADING=1\|MONOTONIC_USEC=[0-9]+\|" \
    "notification at a reload"
usec=$(printf '%s\n' "$l" | sed -e 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/')
now=$(awk '{ printf "%.0f", $1 * 1000000 }' /proc/uptime)
# CLOCK_MONOTONIC and /proc/uptime differ by the time spent suspended.
[ "$usec" -le "$((now + 1000000))" ] || fail "MONOTONIC_USEC $usec > $now"
l=$(wait_note 3 READY) || exit 1
check_match "$l" "^$REGD_PID READY=1\|STATUS=serving 4 frontends$" \
    "notification after the reload"
http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ after the reload"

# A refused reload is over at once, and STATUS= says why.
echo 'prefork two' >> "$T/regd.conf"
line=$(wc -l < "$T/regd.conf")
kill -HUP "$REGD_PID"
l=$(wait_note 4 RELOADING) || exit 1
check_match "$l" "^$REGD_PID RELOADING=1\|" "notification at a bad reload"
l=$(wait_note 5 READY) || exit 1
check_match "$l" "^$REGD_PID READY=1\|STATUS=reload refused: .*regd.conf:$line: " \
    "notification after the refused reload"

pid=$REGD_PID
regd_stop
l=$(wait_note 6 STOPPING) || exit 1
check_match "$l" "^$pid STOPPING=1\|" "notification at SIGTERM"
sleep 0.2
check_eq "$(wc -l < "$NOTES")" 6 "notifications in all"
exit 0
