#!/bin/bash
# regress/bench/mirror.sh: mirror mode against Distribution on loopback
# (issue 14's figures).  A 256 MiB blob: pulled directly from the
# upstream, cold through regd (rate and time to first byte as ratios of
# the direct pull), warm through regd; then 32 clients pull another cold
# 256 MiB blob at once: the upstream's GETs of it (want 1) and the bytes
# it sent as a multiple of the blob's size.  Not part of make test.
#
# MIRROR_BENCH_MB=N: the blob's size (256).  BENCH_MIRROR_TLS=1: the
# upstream speaks TLS.  BENCH_MIRROR_ROUNDS=N: N cold blobs (1), each
# pulled directly and through regd; with BENCH_MIRROR_BASE=path/to/regd
# also through that build, side by side in the same rounds (an A/B,
# order alternating), each its own store.  Each cold pull prints the CPU
# seconds per GiB its fetcher, storage and frontends took (utime+stime
# from /proc) and the load average.  BENCH_MIRROR_COLD_ONLY=1 skips the
# warm and 32-client parts; BENCH_MIRROR_STRACE=1 counts the fetcher's
# system calls during each cold pull (strace -c, which slows it).
cd "$(dirname "$0")/../.." || exit 1
. regress/lib.sh
. regress/authlib.sh

MB=${MIRROR_BENCH_MB:-256}
ROUNDS=${BENCH_MIRROR_ROUNDS:-1}
BASE=${BENCH_MIRROR_BASE:-}
mkdir -p "$T/up"
UPOPT=
if [ -n "${BENCH_MIRROR_TLS:-}" ]; then
	make_certs
	dreg_start "$T/up" "  tls:
    certificate: $T/server.crt
    key: $T/server.key"
	UPOPT="ca file \"$T/ca.crt\""
else
	dreg_start "$T/up"
fi
seed()
{
	local loc

	make_blob $((MB * 1024 * 1024)) "$T/blob"
	SEED=$(sha "$T/blob")
	http POST "$DREG_URL/v2/lib/big/blobs/uploads/" $DREG_CURL
	loc=$(hdr Location)
	case $loc in http*) ;; *) loc=$DREG_URL$loc ;; esac
	http PUT "$(add_query "$loc" "digest=$SEED")" $DREG_CURL \
	    --data-binary "@$T/blob" -H 'Content-Type: application/octet-stream'
	check_eq "$STATUS" 201 "seeding the upstream"
	rm -f "$T/blob"
}
# pull URL: "ttfb total bytes/s"
pull()
{
	curl -s $DREG_CURL -o /dev/null -w '%{time_starttransfer} %{time_total} %{speed_download}\n' "$1"
}
# cpu ROOTPID: "fetcher storage frontends" CPU ticks
cpu()
{
	procs_of "$1" | while read -r p t; do
		case $t in
		*"regd: fetcher"*) k=f ;;
		*"regd: storage"*) k=s ;;
		*"regd: frontend"*) k=w ;;
		*) continue ;;
		esac
		echo "$k $(sed -e 's/^.*) //' "/proc/$p/stat" |
		    awk '{ print $12 + $13 }')"
	done | awk '{ c[$1] += $2 } END { print c["f"] + 0, c["s"] + 0, c["w"] + 0 }'
}
# cold NAME URL ROOTPID: one cold pull through a regd, with its CPU
cold()
{
	local t r c0 c1 hz

	hz=$(getconf CLK_TCK)
	if [ -n "${BENCH_MIRROR_STRACE:-}" ]; then
		strace -c -o "$T/strace.$1" -p "$(procs_of "$3" |
		    awk '/regd: fetcher/ { print $1; exit }')" 2>/dev/null &
		STRACE=$!
		sleep 0.5
	fi
	c0=$(cpu "$3")
	read -r t _ r < <(pull "$2/v2/lib/big/blobs/$d")
	c1=$(cpu "$3")
	if [ -n "${BENCH_MIRROR_STRACE:-}" ]; then
		kill -INT "$STRACE"
		wait "$STRACE"
		echo "  $1: fetcher system calls (strace -c; CPU figures skewed)"
		head -n 12 "$T/strace.$1" | sed -e 's/^/    /'
	fi
	awk -v n="$1" -v t="$t" -v r="$r" -v dt="$dt" -v dr="$drate" \
	    -v a="$c0" -v b="$c1" -v hz="$hz" -v mb="$MB" \
	    -v la="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
		split(a, x, " "); split(b, y, " "); g = mb / 1024 * hz
		printf "  %-6s cold %6.0f MB/s %.4f s  rate %.2fx  ttfb %.2fx" \
		    "  CPU s/GiB fetcher %.2f storage %.2f frontends %.2f  load %s\n",
		    n, r / 1e6, t, r / dr, t / dt, (y[1] - x[1]) / g,
		    (y[2] - x[2]) / g, (y[3] - x[3]) / g, la
	}'
}

regd_start "upstream \"up\" {
	url \"$DREG_URL\"
	$UPOPT
}" '	mirror "up"'
if [ -n "$BASE" ]; then
	mkdir -p "$T/b/storage"
	BPORT=$(free_port)
	BURL=http://127.0.0.1:$BPORT
	cat > "$T/b/regd.conf" <<EOC
storage "$T/b/storage"
socket "$T/b/regd.sock"
prefork 2
upstream "up" {
	url "$DREG_URL"
	$UPOPT
}
server "base" {
	listen on 127.0.0.1 port $BPORT
	mirror "up"
}
EOC
	"$BASE" -d -f "$T/b/regd.conf" >> "$T/b/regd.log" 2>&1 &
	BPID=$!
	trap 'kill -TERM $BPID; wait $BPID; dreg_cleanup' EXIT
	n=100
	until curl -sf -o /dev/null "$BURL/v2/"; do
		n=$((n - 1))
		[ $n -gt 0 ] || fail "the base build does not answer"
		sleep 0.1
	done
fi
for i in $(seq 1 "$ROUNDS"); do
	seed
	d=$SEED
	pull "$DREG_URL/v2/lib/big/blobs/$d" > /dev/null	# page cache
	read -r dt dtot drate < <(pull "$DREG_URL/v2/lib/big/blobs/$d")
	printf 'round %d: %d MiB blob, direct %.0f MB/s, first byte %.4f s\n' \
	    "$i" "$MB" "$(awk -v r="$drate" 'BEGIN { print r / 1e6 }')" "$dt"
	if [ -n "$BASE" ] && [ $((i % 2)) = 0 ]; then
		cold base "$BURL" "$BPID"
		cold this "$URL" "$REGD_PID"
	elif [ -n "$BASE" ]; then
		cold this "$URL" "$REGD_PID"
		cold base "$BURL" "$BPID"
	else
		cold this "$URL" "$REGD_PID"
	fi
done
curl -s -o "$T/check" "$URL/v2/lib/big/blobs/$d"
check_eq "$(sha "$T/check")" "$d" "the bytes through regd"
rm -f "$T/check"
[ -n "${BENCH_MIRROR_COLD_ONLY:-}" ] && exit 0

read -r wt wtot wrate < <(pull "$URL/v2/lib/big/blobs/$d")
awk -v wt="$wt" -v wr="$wrate" -v dr="$drate" 'BEGIN {
	printf "warm through regd    %8.0f MB/s   %.4f s   rate %.2fx of direct\n",
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
