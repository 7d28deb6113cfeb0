#!/bin/bash
#
# regress/bench/metrics.sh [-d seconds] [-r reps]: what scraping the
# metrics listener costs the registry (issue #16).  A regd with a metrics
# listener serves GET /v2/bench/app/manifests/latest to wrk (64
# connections) for the given seconds, alternately with nothing else and
# with a GET /metrics every 100 ms, reps times each, and prints per run
# the rate, the p99 latency and the CPU time regd's processes (parent,
# frontends, storage, logger) spent per request; then the CPU time of
# one scrape with nothing else going on.  Not part of make test:
# timing belongs to no test.

. ./regress/lib.sh

DUR=10
REPS=3
while getopts d:r: o; do
	case $o in
	d) DUR=$OPTARG ;;
	r) REPS=$OPTARG ;;
	*) echo "usage: metrics.sh [-d seconds] [-r reps]" >&2
	   exit 2 ;;
	esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || fail "wrk is not installed (regress/bench/deps.sh)"

MPORT=$(free_port)
regd_conf "prefork $(nproc)
metrics {
	listen on 127.0.0.1 port $MPORT
}"
regd_launch
MURL=http://127.0.0.1:$MPORT

echo '{}' > "$T/cfg"
push_blob bench/app "$T/cfg"
jq -cn --arg c "$(sha "$T/cfg")" '{ schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: 3 }, layers: [] }' > "$T/m"
push_manifest bench/app latest "$T/m" \
    application/vnd.oci.image.manifest.v1+json

cpu()
{
	python3 "$HERE/procs.py" cpu "$REGD_PID"
}

# run MODE: one wrk run; MODE "scrape" scrapes every 100 ms meanwhile.
run()
{
	local c0 c1 res loop= n=0

	if [ "$1" = scrape ]; then
		( while :; do
			curl -s -o /dev/null "$MURL/metrics"
			sleep 0.1
		done ) &
		loop=$!
	fi
	c0=$(cpu)
	res=$(WRK_ACCEPT=application/vnd.oci.image.manifest.v1+json \
	    wrk -t 2 -c 64 -d "${DUR}s" --timeout 5s -s "$HERE/report.lua" \
	    "$URL/v2/bench/app/manifests/latest" | awk '/^RESULT/')
	c1=$(cpu)
	if [ -n "$loop" ]; then
		kill "$loop"
		wait "$loop" 2>/dev/null
	fi
	n=$(curl -s "$MURL/metrics" |
	    awk '$1 == "regd_metrics_requests_total" { print $2 }')
	echo "$res" | awk -v m="$1" -v c0="$c0" -v c1="$c1" -v d="$DUR" \
	    -v n="$n" '{
		if ($5 + $6 > 0)
			printf "errors %d non2xx %d ", $5, $6
		printf "%-7s %9.0f %8.2f %8.1f %9s\n", m, $2 / d, $8 / 1000,
		    (c1 - c0) * 1e6 / $2, n
	}'
}

echo "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
    "$DUR s per run"
printf '%-7s %9s %8s %8s %9s\n' mode req/s p99_ms cpu_us/req scrapes
for r in $(seq 1 "$REPS"); do
	if [ $((r % 2)) -eq 1 ]; then
		run none
		run scrape
	else
		run scrape
		run none
	fi
done
# What one scrape costs regd by itself, with no other load: 200 scrapes.
c0=$(cpu)
for i in $(seq 1 200); do
	curl -s -o /dev/null "$MURL/metrics"
done
c1=$(cpu)
echo "$c0 $c1" | awk '{ printf "idle: %.0f us of regd CPU per scrape " \
    "(%d bytes)\n", ($2 - $1) * 1e6 / 200, n }' \
    n="$(curl -s "$MURL/metrics" | wc -c)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
regd_stop
exit 0
