#!/bin/bash
# SIGHUP with a broken configuration keeps the running one: regd goes on
# serving and logs the error as file:line:; once fixed, SIGHUP reloads.
. regress/lib.sh

regd_start
cp "$T/regd.conf" "$T/regd.conf.good"
pids=$(procs_of "$REGD_PID" | awk '{ print $1 }' | sort)

echo 'prefork two' >> "$T/regd.conf"
line=$(wc -l < "$T/regd.conf")
kill -HUP "$REGD_PID"

found=0
for i in $(seq 1 50); do
	if grep -q "regd.conf:$line:" "$T/regd.log"; then
		found=1
		break
	fi
	sleep 0.1
done
[ "$found" -eq 1 ] || fail "no 'regd.conf:$line:' in the log after SIGHUP"
grep "regd.conf:$line:" "$T/regd.log" >&2
alive "$REGD_PID" || fail "regd died on a broken configuration"
for i in 1 2 3 4 5; do
	http GET "$URL/v2/"
	check_eq "$STATUS" 200 "GET /v2/ after a failed reload"
done
check_eq "$(procs_of "$REGD_PID" | awk '{ print $1 }' | sort)" "$pids" \
    "processes after a failed reload"

# Fixed, with a visible change: four frontends instead of two.
sed -e 's/^prefork 2$/prefork 4/' "$T/regd.conf.good" > "$T/regd.conf"
grep -q '^prefork 4$' "$T/regd.conf" || fail "could not edit prefork"
kill -HUP "$REGD_PID"
n=0
for i in $(seq 1 50); do
	n=$(pids_titled frontend | wc -l)
	[ "$n" -eq 4 ] && break
	sleep 0.1
done
check_eq "$n" 4 "frontends after reloading with prefork 4"
for i in 1 2 3 4 5; do
	http GET "$URL/v2/"
	check_eq "$STATUS" 200 "GET /v2/ after the reload"
done
alive "$REGD_PID" || fail "regd died on reload"
regd_stop
exit 0
