#!/bin/bash
# Reloads under load never leave nothing accepting.  Each reload turns the
# running frontends into draining ones; slow clients (half a request
# head, held open) keep them alive.  Reload after reload, the frontend
# slots fill up with draining frontends: regd then refuses the reload,
# says so in its log and in regctl's answer, and goes on serving with
# the running generation; "drain timeout" later kills the old frontends
# and a reload works again.  (Before, the new frontends could not start
# once every slot was draining and GET /v2/ hung until the next reload.)
. regress/lib.sh

DRAIN=40
regd_conf "prefork 4
drain timeout ${DRAIN}s" "	connection { header timeout 600, idle timeout 600 }
	max connections per address 10000"
regd_launch

# hold N: open N connections with half a request head and keep them.
held=0
hold()
{
	local i fd

	for i in $(seq 1 "$1"); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" ||
		    fail "connection $held refused"
		printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\n' >&"$fd"
		held=$((held + 1))
	done
}

refused=0
start=$(date +%s)
for round in $(seq 1 80); do
	hold 8
	if out=$($REGCTL reload 2>&1); then
		check_match "$out" "reloaded" "regctl reload answer"
	else
		check_match "$out" "reload refused" \
		    "regctl reload answer, round $round"
		refused=$((refused + 1))
	fi
	st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/v2/")
	check_eq "$st" 200 "GET /v2/ after reload $round ($held slow clients)"
	[ "$refused" -ge 2 ] && break
done
note "$round reloads in $(( $(date +%s) - start ))s, $held slow clients," \
    "$(pids_titled frontend | wc -l) frontends"
[ "$refused" -ge 2 ] ||
    fail "the frontend slots never filled up in $round reloads"
grep -q "reload refused: .* frontends still draining" "$T/regd.log" ||
    fail "no 'reload refused' in the log"
# A SIGHUP is refused the same way, and serving goes on.
kill -HUP "$REGD_PID"
for i in 1 2 3; do
	http GET "$URL/v2/" --max-time 5
	check_eq "$STATUS" 200 "GET /v2/ after a refused SIGHUP"
done

# The drain deadline ends the old frontends; slots are free again.
n=$(( (DRAIN + 20) * 10 ))
while ! grep -q "draining frontend .* killing it" "$T/regd.log"; do
	n=$((n - 1))
	[ "$n" -gt 0 ] || fail "no draining frontend killed after ${DRAIN}s"
	sleep 0.1
done
n=100
until out=$($REGCTL reload 2>&1); do
	n=$((n - 1))
	[ "$n" -gt 0 ] || fail "reload still refused after the drain timeout: $out"
	sleep 0.1
done
http GET "$URL/v2/" --max-time 5
check_eq "$STATUS" 200 "GET /v2/ after the drain deadline"
# All the old generations are gone within seconds of their deadlines;
# left are the new one and the one that held the last slow clients.
n=200
while [ "$(pids_titled frontend | wc -l)" -gt 8 ]; do
	n=$((n - 1))
	[ "$n" -gt 0 ] || fail "$(pids_titled frontend | wc -l) frontends" \
	    "left after the drain deadline"
	sleep 0.1
done
exit 0
