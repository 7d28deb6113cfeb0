#!/bin/bash
# The metrics listener's own rules: a client from an address they do not
# allow gets 403 on /metrics, /health and /ready whatever it claims in
# X-Forwarded-For; an allowed address gets the figures.  The registry's
# own listener is not opened to the metrics paths.
. regress/lib.sh

MPORT=$(free_port)
regd_start "metrics {
	listen on 127.0.0.1 port $MPORT
	deny from address \"127.0.0.1\"
	allow from address \"127.0.0.0/8\"
	deny from any
}" "	trusted proxy \"127.0.0.1\""
MURL=http://127.0.0.1:$MPORT

for p in /metrics /health /ready; do
	http GET "$MURL$p"
	check_eq "$STATUS" 403 "GET $p from 127.0.0.1"
	grep -q regd_ "$BODY" && fail "figures given to a refused client"
	http GET "$MURL$p" -H 'X-Forwarded-For: 127.0.0.2'
	check_eq "$STATUS" 403 "GET $p from 127.0.0.1 claiming 127.0.0.2"
done

# The same from 127.0.0.2, which the second rule allows.
curl -s --interface 127.0.0.2 -o /dev/null "$MURL/health" 2>/dev/null ||
    skip "cannot connect from 127.0.0.2"
http GET "$MURL/metrics" --interface 127.0.0.2
check_eq "$STATUS" 200 "GET /metrics from 127.0.0.2"
grep -q '^# TYPE regd_http_requests_total counter$' "$BODY" ||
    fail "no request counter in: $(head -c 300 "$BODY")"
check_match "$(hdr Content-Type)" '^text/plain; version=0.0.4' "Content-Type"
http GET "$MURL/health" --interface 127.0.0.2
check_eq "$STATUS" 200 "GET /health from 127.0.0.2"

# The registry's listener knows nothing of them.
for p in /metrics /health; do
	http GET "$URL$p"
	check_eq "$STATUS" 404 "GET $p on the registry listener"
done
# Refusals are counted as scrapes, not as registry requests: the only
# "other" requests are the two 404s above on the registry listener.
http GET "$MURL/metrics" --interface 127.0.0.2
check_eq "$(awk '/^regd_http_requests_total\{route="other"/ { n += $2 }
    END { print n + 0 }' "$BODY")" 2 "registry requests of route other"
alive "$REGD_PID" || fail "regd died"
exit 0
