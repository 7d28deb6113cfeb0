#!/bin/bash
# regress: long 35
# Counters summed over the frontends never go backwards: scrapes before,
# during and after a frontend is killed with SIGKILL and restarted, and
# after a reload replaced every frontend, each see at least what the one
# before saw; the restart is counted.
. regress/lib.sh

MPORT=$(free_port)
regd_start "metrics {
	listen on 127.0.0.1 port $MPORT
}"
MURL=http://127.0.0.1:$MPORT

# scrape: every counter (a sample of a _total or a histogram's _count
# and _bucket) summed by name, one "name value" a line, in $T/now.
scrape()
{
	curl -sf --max-time 5 "$MURL/metrics" > "$T/raw" || fail "GET /metrics"
	awk '!/^#/ {
		n = $1
		sub(/\{.*/, "", n)
		if (n ~ /_total$|_count$|_bucket$/ &&
		    n !~ /^regd_process_cpu_seconds_total$/)
			s[n] += $2
	}
	END { for (n in s) printf "%s %.0f\n", n, s[n] }' "$T/raw" |
	    sort > "$T/now"
}

# not_less: every counter in $T/now is at least what $T/prev had.
not_less()
{
	local bad

	bad=$(join "$T/prev" "$T/now" | awk '$3 < $2 { print }')
	[ -z "$bad" ] || fail "$1: counters went backwards (name before now):
$bad"
	cp "$T/now" "$T/prev"
}

req_total()
{
	awk '$1 == "regd_http_requests_total" { print $2 }' "$T/now"
}

# Requests spread over both frontends (new connections each).
load()
{
	local i

	for i in $(seq 1 "$1"); do
		curl -s -o /dev/null "$URL/v2/"
		curl -s -o /dev/null "$URL/v2/r/manifests/missing"
	done
}

load 20
scrape
cp "$T/now" "$T/prev"
r0=$(req_total)
[ "$r0" -ge 40 ] || fail "only $r0 requests counted after 40"

# Kill every frontend in turn, scraping while the new one starts.
for victim in $(pids_titled frontend); do
	load 10
	scrape
	not_less "before killing $victim"
	kill -KILL "$victim"
	for i in $(seq 1 15); do
		scrape
		not_less "while frontend $victim restarts ($i)"
		sleep 0.05
	done
done
load 10
scrape
not_less "after the restarts"
r1=$(req_total)
[ "$r1" -ge $((r0 + 60)) ] ||
    fail "requests counted went from $r0 to $r1 after 60 more"
grep -q '^regd_process_restarts_total{process="frontend"} 2$' "$T/raw" ||
    fail "restarts: $(grep restarts "$T/raw")"

# A reload drains every frontend: what they counted stays.
out=$($REGCTL reload 2>&1) || fail "reload: $out"
for i in $(seq 1 30); do
	scrape
	not_less "during the reload ($i)"
	sleep 0.1
done
load 5
scrape
not_less "after the reload"
[ "$(req_total)" -ge $((r1 + 10)) ] ||
    fail "requests counted went from $r1 to $(req_total) after the reload"
# The retired frontends' CPU time is kept in the per-kind total.
awk '$1 == "regd_cpu_seconds_total{process=\"frontend\"}" { print $2 }' \
    "$T/raw" | grep -q . || fail "no frontend CPU total"
alive "$REGD_PID" || fail "regd died"
exit 0
