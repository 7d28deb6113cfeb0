#!/bin/bash
# NOTIFY_SOCKET may name an abstract socket ("@name"): regd sends READY=1
# there, from its main process.
. regress/lib.sh

command -v python3 > /dev/null || skip "no python3"
NOTES=$T/notify.txt
name="@regd-test-$$-$RANDOM"
python3 regress/notify-listen.py "$name" "$NOTES" &
LISTENER=$!
trap 'st=$?; kill $LISTENER 2>/dev/null; (exit $st); regd_cleanup' EXIT
for i in $(seq 1 50); do
	[ -f "$NOTES.up" ] && break
	sleep 0.1
done
[ -f "$NOTES.up" ] || fail "notify listener did not start"

regd_conf
NOTIFY_SOCKET=$name regd_launch
for i in $(seq 1 100); do
	[ -s "$NOTES" ] && break
	sleep 0.1
done
check_match "$(head -n 1 "$NOTES")" "^$REGD_PID READY=1\|" \
    "notification on the abstract socket"
exit 0
