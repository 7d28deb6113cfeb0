#!/bin/bash
# Repository names become labels only when "per repository labels N"
# asks for them, for at most N names per frontend; the requests of any
# other name are counted under repository="_other".  The figures stay
# when the frontend that counted them is killed.
. regress/lib.sh

MPORT=$(free_port)
MURL=http://127.0.0.1:$MPORT
regd_start "metrics {
	listen on 127.0.0.1 port $MPORT
}"
# Requests on one keep-alive connection: one frontend sees them in order.
reqs()
{
	curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	    -o /dev/null -o /dev/null \
	    "$URL/v2/a/one/manifests/x" "$URL/v2/a/one/manifests/y" \
	    "$URL/v2/a/one/tags/list" "$URL/v2/b/two/manifests/x" \
	    "$URL/v2/b/two/blobs/sha256:$(printf '%064d' 0)" \
	    "$URL/v2/c/three/manifests/x"
}
reqs
curl -sf "$MURL/metrics" > "$T/scrape" || fail "GET /metrics"
grep -q 'repository=' "$T/scrape" &&
    fail "repository labels without the knob: $(grep repository= "$T/scrape")"
regd_stop

sed -i "s/^metrics {/metrics {\n\tper repository labels 2/" "$T/regd.conf"
regd_launch
reqs
curl -sf "$MURL/metrics" > "$T/scrape" || fail "GET /metrics"
grep '^regd_http_repository' "$T/scrape" | sort > "$T/got"
cat > "$T/want" <<'EOF2'
regd_http_repository_requests_total{repository="_other",route="manifest"} 1
regd_http_repository_requests_total{repository="a/one",route="manifest"} 2
regd_http_repository_requests_total{repository="a/one",route="tags"} 1
regd_http_repository_requests_total{repository="b/two",route="blob"} 1
regd_http_repository_requests_total{repository="b/two",route="manifest"} 1
EOF2
diff "$T/want" "$T/got" >&2 || fail "per repository figures differ"
out=$(promtool check metrics < "$T/scrape" 2>&1) ||
    fail "promtool check metrics: $out"
# The frontend that counted them dies: the figures stay.
for p in $(pids_titled frontend); do
	kill -KILL "$p"
done
sleep 0.5
curl -sf "$MURL/metrics" | grep '^regd_http_repository' | sort > "$T/got"
diff "$T/want" "$T/got" >&2 || fail "figures lost with the frontends"
alive "$REGD_PID" || fail "regd died"
exit 0
