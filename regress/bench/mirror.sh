#!/bin/bash
# regress/bench/mirror.sh: mirror mode against Distribution on loopback
# (issue 14's figures).  A 256 MiB blob: pulled directly from the
# upstream, cold through regd (rate and time to first byte as ratios of
# the direct pull), warm through regd; then 32 clients pull another cold
# 256 MiB blob at once: the upstream's GETs of it (want 1) and the bytes
# it sent as a multiple of the blob's size.  Not part of make test.
cd "$(dirname "$0")/../.." || exit 1
. regress/lib.sh

MB=${MIRROR_BENCH_MB:-256}
mkdir -p "$T/up"
dreg_start "$T/up"
seed()
{
	local loc

	make_blob $((MB * 1024 * 1024)) "$T/blob"
	SEED=$(sha "$T/blob")
	http POST "$DREG_URL/v2/lib/big/blobs/uploads/"
	loc=$(hdr Location)
	case $loc in http*) ;; *) loc=$DREG_URL$loc ;; esac
	http PUT "$(add_query "$loc" "digest=$SEED")" \
	    --data-binary "@$T/blob" -H 'Content-Type: application/octet-stream'
	check_eq "$STATUS" 201 "seeding the upstream"
	rm -f "$T/blob"
}
# pull URL: "ttfb total bytes/s"
pull()
{
	curl -s -o /dev/null -w '%{time_starttransfer} %{time_total} %{speed_download}\n' "$1"
}
seed
d=$SEED
regd_start "upstream \"up\" {
	url \"$DREG_URL\"
}" '	mirror "up"'
pull "$DREG_URL/v2/lib/big/blobs/$d" > /dev/null	# page cache
read -r dt dtot drate < <(pull "$DREG_URL/v2/lib/big/blobs/$d")
read -r ct ctot crate < <(pull "$URL/v2/lib/big/blobs/$d")
read -r wt wtot wrate < <(pull "$URL/v2/lib/big/blobs/$d")
awk -v mb="$MB" -v dt="$dt" -v dr="$drate" -v ct="$ct" -v cr="$crate" \
    -v wt="$wt" -v wr="$wrate" 'BEGIN {
	printf "%d MiB blob            MB/s   first byte (s)\n", mb
	printf "direct from upstream %8.0f   %.4f\n", dr / 1e6, dt
	printf "cold through regd    %8.0f   %.4f   rate %.2fx, first byte %.2fx of direct\n",
	    cr / 1e6, ct, cr / dr, ct / dt
	printf "warm through regd    %8.0f   %.4f   rate %.2fx of direct\n",
	    wr / 1e6, wt, wr / dr
}'

seed
d=$SEED
pids=
for i in $(seq 1 32); do
	curl -s -o "$T/c$i" "$URL/v2/lib/big/blobs/$d" &
	pids="$pids $!"
done
wait $pids
bad=0
for i in $(seq 1 32); do
	[ "$(sha "$T/c$i")" = "$d" ] || bad=$((bad + 1))
	rm -f "$T/c$i"
done
gets=$(grep -c "\"GET /v2/lib/big/blobs/$d " "$T/dreg.log")
sent=$(grep "\"GET /v2/lib/big/blobs/$d " "$T/dreg.log" |
    awk '{ s += $10 } END { print s + 0 }')
awk -v g="$gets" -v s="$sent" -v b=$((MB * 1024 * 1024)) -v bad="$bad" \
    'BEGIN { printf "32 clients, one cold blob: %d upstream GET(s), %.2fx the blob fetched, %d clients with wrong bytes\n", g, s / b, bad }'
regd_stop
