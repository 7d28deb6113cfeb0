#!/bin/bash
# A real Prometheus (Debian's, run by hand on a free port with its own
# configuration and data directory) scrapes regd's metrics listener, and
# a PromQL query over its HTTP API gives back exactly the requests this
# test made, by route, method and status; promtool check metrics finds
# nothing to say about a scrape.
. regress/lib.sh

command -v prometheus >/dev/null || skip "prometheus is not installed"
command -v promtool >/dev/null || skip "promtool is not installed"

PROM_PID=
prom_cleanup()
{
	local rc=$?

	if [ -n "$PROM_PID" ]; then
		kill -TERM "$PROM_PID" 2>/dev/null
		wait "$PROM_PID" 2>/dev/null
	fi
	(exit "$rc")
	regd_cleanup
}
trap prom_cleanup EXIT

MPORT=$(free_port)
regd_start "metrics {
	listen on 127.0.0.1 port $MPORT
	allow from address \"127.0.0.1\"
	deny from any
}"
MURL=http://127.0.0.1:$MPORT

# value SERIES: a sample's value in a fresh scrape, 0 when absent.
value()
{
	curl -sf "$MURL/metrics" | awk -v s="$1" '$1 == s { v = $2 }
	    END { print v + 0 }'
}

base='regd_http_requests_total{route="base",method="GET",code="200"}'
man404='regd_http_requests_total{route="manifest",method="GET",code="404"}'
up201='regd_http_requests_total{route="blob_upload",method="POST",code="201"}'
b0=$(value "$base")
m0=$(value "$man404")
u0=$(value "$up201")

for i in $(seq 1 7); do
	http GET "$URL/v2/"
	check_eq "$STATUS" 200 "GET /v2/"
done
for i in $(seq 1 3); do
	http GET "$URL/v2/some/repo/manifests/nothing-$i"
	check_eq "$STATUS" 404 "GET an unknown manifest"
done
make_blob 4096 "$T/blob"
push_blob some/repo "$T/blob"
push_blob other/repo "$T/blob"

curl -sf "$MURL/metrics" > "$T/scrape" || fail "GET /metrics"
check_eq "$(awk -v s="$base" '$1 == s { print $2 }' "$T/scrape")" \
    $((b0 + 7)) "GET /v2/ in a scrape"
check_eq "$(awk -v s="$up201" '$1 == s { print $2 }' "$T/scrape")" \
    $((u0 + 2)) "monolithic uploads in a scrape"
grep -v '^#' "$T/scrape" | grep -qE 'some|other\/repo' && fail "a repository name is a label: \
$(grep repo "$T/scrape" | head -3)"
out=$(promtool check metrics < "$T/scrape" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && [ -z "$out" ] ||
    fail "promtool check metrics ($rc): $out"
grep -q '^regd_upload_bytes_total 8192$' "$T/scrape" ||
    fail "upload bytes: $(grep upload_bytes "$T/scrape")"
grep -q '^regd_blobs_stored_total 1$' "$T/scrape" ||
    fail "blobs stored: $(grep blobs_stored "$T/scrape")"

# Prometheus, scraping every second.
PPORT=$(free_port)
mkdir -p "$T/prom"
cat > "$T/prom.yml" <<EOF2
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: regd
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF2
prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/prom" \
    --web.listen-address="127.0.0.1:$PPORT" > "$T/prom.log" 2>&1 &
PROM_PID=$!
PURL=http://127.0.0.1:$PPORT

# query PROMQL: the value of the single result, empty if none yet.
query()
{
	curl -s --max-time 5 -G "$PURL/api/v1/query" \
	    --data-urlencode "query=$1" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    r = d["data"]["result"]
    print(r[0]["value"][1] if len(r) == 1 else "")
except Exception:
    print("")'
}

got=
for i in $(seq 1 60); do
	got=$(query "$base")
	[ "$got" = $((b0 + 7)) ] && break
	alive "$PROM_PID" || { cat "$T/prom.log" >&2; fail "prometheus died"; }
	sleep 0.5
done
check_eq "$got" $((b0 + 7)) "PromQL $base"
check_eq "$(query "$man404")" $((m0 + 3)) "PromQL $man404"
check_eq "$(query "sum(regd_http_requests_total{route=\"blob_upload\"})")" \
    $((u0 + 2)) "PromQL uploads"
check_eq "$(query 'up{job="regd"}')" 1 "the target is up"
# The histogram is usable as one.
h=$(query 'sum(regd_http_request_duration_seconds_count{route="base"})')
check_eq "$h" $((b0 + 7)) "duration histogram count of GET /v2/"
q=$(query 'histogram_quantile(0.5, sum by (le) (regd_http_request_duration_seconds_bucket{route="base"}))')
[ -n "$q" ] || fail "no median from the duration histogram"
note "median GET /v2/ duration: $q s"
alive "$REGD_PID" || fail "regd died"
exit 0
