#!/bin/bash
# Two clients pull the same cold 48 MiB blob through the mirror while
# the upstream (Distribution behind an nginx that sends 16 MiB/s) is
# still sending it: the upstream sees exactly one GET for it, both
# clients get the blob's bytes, and the first one's bytes start flowing
# long before the fetch ends (streamed through, not fetched first).
. regress/lib.sh
. regress/authlib.sh

mkdir -p "$T/up"
dreg_start "$T/up"
NPORT=$(free_port)
nginx_start "
	server {
		listen 127.0.0.1:$NPORT;
		client_max_body_size 0;
		location / {
			proxy_pass $DREG_URL;
			limit_rate 16m;
		}
	}"

make_blob $((48 * 1024 * 1024)) "$T/big"
d=$(sha "$T/big")
loc=$(curl -sf -X POST -D - -o /dev/null "$DREG_URL/v2/lib/big/blobs/uploads/" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "location" { print $2 }')
[ -n "$loc" ] || fail "no upload location from the upstream"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/big" \
    "$(add_query "$(loc_url "$loc")" "digest=$d")")
check_eq "$code" 201 "seeding the upstream"

regd_start "upstream \"up\" {
	url \"http://127.0.0.1:$NPORT\"
}" '	mirror "up"'

curl -s -o "$T/a" -w '%{http_code} %{time_starttransfer} %{time_total}\n' \
    "$URL/v2/lib/big/blobs/$d" > "$T/a.out" &
pa=$!
sleep 0.7
curl -s -o "$T/b" -w '%{http_code} %{time_starttransfer} %{time_total}\n' \
    "$URL/v2/lib/big/blobs/$d" > "$T/b.out" &
pb=$!
wait $pa
wait $pb
read -r sa ta_first ta_total < "$T/a.out"
read -r sb tb_first tb_total < "$T/b.out"
check_eq "$sa" 200 "first client"
check_eq "$sb" 200 "second client"
check_eq "$(sha "$T/a")" "$d" "first client's bytes"
check_eq "$(sha "$T/b")" "$d" "second client's bytes"
n=$(grep -c "GET /v2/lib/big/blobs/$d" "$T/nginx/access.log")
check_eq "$n" 1 "upstream GETs of the blob"
note "first byte after ${ta_first}s of ${ta_total}s; second client ${tb_first}s of ${tb_total}s"
awk -v f="$ta_first" -v t="$ta_total" 'BEGIN { exit !(t > 2 && f < t / 3) }' ||
    fail "first client: first byte at ${ta_first}s of ${ta_total}s: not streamed"
# The second arrived while the fetch ran: it was not served from a
# finished store entry.
awk -v t="$tb_total" 'BEGIN { exit !(t > 1) }' ||
    fail "second client done in ${tb_total}s: did it wait for the fetch?"
# Stored, and warm now.
http GET "$URL/v2/lib/big/blobs/$d"
check_eq "$STATUS" 200 "warm"
n=$(grep -c "GET /v2/lib/big/blobs/$d" "$T/nginx/access.log")
check_eq "$n" 1 "upstream GETs after a warm pull"
regd_stop
