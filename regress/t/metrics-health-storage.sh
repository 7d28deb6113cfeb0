#!/bin/bash
# /health and /ready on the metrics listener: 200 with a JSON body while
# storage answers and the disk has room; 503 with a JSON reason when the
# free-space floor is above the disk's free space, and when storage is
# stopped (SIGSTOP) longer than the health timeout; 200 again after.
# /v2/ keeps answering as before.
. regress/lib.sh

MPORT=$(free_port)
MURL=http://127.0.0.1:$MPORT
block()
{
	printf 'metrics {\n\tlisten on 127.0.0.1 port %s\n\thealth timeout 1\n%s\n}\n' \
	    "$MPORT" "$1"
}
regd_start "$(block "")"

# health PATH STATUS: GET PATH on the metrics listener, check the status
# and that the body is JSON; the body stays in $BODY.
health()
{
	http GET "$MURL$1"
	check_eq "$STATUS" "$2" "GET $1"
	jq -e . < "$BODY" >/dev/null 2>&1 ||
	    fail "GET $1: body is not JSON: $(head -c 300 "$BODY")"
	check_match "$(hdr Content-Type)" '^application/json' "Content-Type"
}

for p in /health /ready; do
	health "$p" 200
	check_eq "$(json_get .status)" ok "status of $p"
	[ "$(json_get .free_bytes)" -gt 0 ] || fail "free_bytes: $(cat "$BODY")"
done
http HEAD "$MURL/health"
check_eq "$STATUS" 200 "HEAD /health"
http POST "$MURL/health"
check_eq "$STATUS" 405 "POST /health"
http GET "$MURL/v2/"
check_eq "$STATUS" 404 "/v2/ on the metrics listener"

# A floor above what the disk has free: 503 and why.
free=$(df -B1 --output=avail "$T/storage" | tail -n 1 | tr -d ' ')
floor=$(( (free / 1073741824 + 2) ))G
sed -i '/^metrics {/,/^}/d' "$T/regd.conf"
block "	health free space $floor" >> "$T/regd.conf"
out=$($REGCTL reload 2>&1) || fail "reload: $out"
for i in $(seq 1 30); do
	http GET "$MURL/health"
	[ "$STATUS" = 503 ] && break
	sleep 0.1
done
health /health 503
check_eq "$(json_get .status)" unavailable "status below the floor"
check_match "$(json_get .reason)" 'free space [0-9]+ bytes is below the floor' \
    "reason below the floor"
health /ready 503
http GET "$URL/v2/"
check_eq "$STATUS" 200 "/v2/ below the floor"

# Back to no floor, then storage stops answering.
sed -i '/^metrics {/,/^}/d' "$T/regd.conf"
block "" >> "$T/regd.conf"
out=$($REGCTL reload 2>&1) || fail "reload: $out"
for i in $(seq 1 30); do
	http GET "$MURL/health"
	[ "$STATUS" = 200 ] && break
	sleep 0.1
done
check_eq "$STATUS" 200 "/health after the floor is gone"
st=$(pids_titled storage)
[ -n "$st" ] || fail "no storage process"
kill -STOP "$st"
start=$(date +%s%N)
health /health 503
ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill -CONT "$st"
check_match "$(json_get .reason)" 'storage did not answer within 1 s' \
    "reason with storage stopped"
[ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] ||
    fail "the 503 came after $ms ms, the timeout is 1 s"
note "503 after $ms ms with storage stopped"
health /health 200
health /ready 200
http GET "$URL/v2/"
check_eq "$STATUS" 200 "/v2/ after storage resumed"
alive "$REGD_PID" || fail "regd died"
exit 0
