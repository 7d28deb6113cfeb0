#!/bin/bash
#
# regress/bench/s3.sh: "make bench-s3", regd's S3 backend against the
# object store itself, on a throw-away radosgw (regress/s3/ceph.sh), in
# one run so the ratios compare like with like:
#
#   push   a blob of BENCH_S3_MIB (256) MiB: a direct multipart upload
#          with curl (s3req signs; 8 MiB parts, 4 at once, as aws-cli
#          does with its defaults scaled to 2 cores) against one
#          monolithic PUT through regd (POST, then PUT ?digest with the
#          body); the median of BENCH_S3_REPS (3) of each
#   get    the same blob: a direct signed GET of its key against a cold
#          GET through regd (not in the cache: each round removes the
#          cache's file first), time to first byte and rate
#   redir  with "redirect yes": the 307 of a blob GET against a plain
#          manifest GET, per request (sequential, keep-alive)
#   nginx  manifest GETs per second: one regd against two behind
#          Debian's nginx (wrk, 2 threads, 16 connections)
#
# Prints one line per figure and the ratios; BENCH_S3_ONLY=push (or
# get, redir, nginx) runs one part.  BENCH_S3_BASE=path/to/regd pushes
# through that binary too, in the same rounds (an A/B of two builds).  Needs Ceph (regress/s3/deps.sh),
# wrk and nginx for the last part.

. regress/lib.sh
. regress/s3/s3lib.sh

MIB=${BENCH_S3_MIB:-256}
REPS=${BENCH_S3_REPS:-3}
ONLY=${BENCH_S3_ONLY:-}
BASE=${BENCH_S3_BASE:-}

s3_need
# memstore keeps every copy (the upload, its blob, the direct ones).
s3_up bench $(( (MIB * 10 + 1024) * 1048576 ))
export REGD_BACKEND=s3
S3_ROOT=/bench
export S3_ROOT

median()
{
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# ratio A B: A / B to two places.
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}

mibs()
{
	awk -v s="$1" -v m="$MIB" 'BEGIN { printf "%.0f", (s > 0 ? m / s : 0) }'
}

now()
{
	date +%s.%N
}

since()
{
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
}

make_blob $((MIB * 1048576)) "$T/blob"
D=$(sha "$T/blob")
mkdir -p "$T/parts"
# radosgw's first writes are slow: one before any figure.
"$S3REQ" PUT "/$S3_BUCKET/warm" "$T/blob" -- -s -o /dev/null
"$S3REQ" DELETE "/$S3_BUCKET/warm" -- -s -o /dev/null
split -b 8M -d -a 3 "$T/blob" "$T/parts/p."

# The parts, 4 at once: xargs gives each "n file".
put_parts()
{
	local key=$1 id=$2

	for f in "$T"/parts/p.*; do
		n=${f##*.}
		echo "$((10#$n + 1)) $f"
	done | S3REQ_KEY=$key S3REQ_ID=$id OUT=$T/etags S3REQ=$S3REQ \
	    xargs -P 4 -L 1 sh -c '
	    "$S3REQ" PUT "$S3REQ_KEY?partNumber=$0&uploadId=$S3REQ_ID" "$1" \
		-- -s -f -o /dev/null -D "$OUT.h.$0" &&
	    tr -d "\r" < "$OUT.h.$0" |
		awk -v n="$0" "tolower(\$0) ~ /^etag:/ { print n, \$2 }" \
		> "$OUT.$0"' || fail "a part failed"
}

# A direct multipart upload of the blob to key $1; its seconds.
direct_push()
{
	local key=/$S3_BUCKET/direct/$1 id t0 n

	t0=$(now)
	id=$("$S3REQ" POST "$key?uploads" -- -s |
	    sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p')
	[ -n "$id" ] || fail "CreateMultipartUpload: no UploadId"
	rm -f "$T"/etags.*
	put_parts "$key" "$id"
	{
		echo "<CompleteMultipartUpload>"
		cat "$T"/etags.[0-9]* 2>/dev/null | grep -v '^$' | sort -n |
		    awk '{ printf "<Part><PartNumber>%d</PartNumber>" \
		    "<ETag>%s</ETag></Part>\n", $1, $2 }'
		echo "</CompleteMultipartUpload>"
	} > "$T/complete.xml"
	n=$(grep -c '<Part>' "$T/complete.xml")
	[ "$n" -eq "$(ls "$T"/parts | wc -l)" ] || fail "$n parts' ETags"
	"$S3REQ" POST "$key?uploadId=$id" "$T/complete.xml" -- -s -f \
	    -o "$T/complete.out" || fail "CompleteMultipartUpload"
	grep -q '<ETag>' "$T/complete.out" ||
	    fail "CompleteMultipartUpload: $(head -c 300 "$T/complete.out")"
	since "$t0"
}

# One monolithic push through regd to repository $1; its seconds.
regd_push()
{
	local t0 loc

	t0=$(now)
	upload_start "bench/$1"
	loc=$(add_query "$LOC" "digest=$D")
	STATUS=$(curl -s -o "$BODY" -w '%{http_code}' -X PUT \
	    -H 'Content-Type: application/octet-stream' -T "$T/blob" "$loc")
	check_eq "$STATUS" 201 "push through regd"
	since "$t0"
}

# Another regd binary in place of the one running (the A/B of BASE).
regd_swap()
{
	regd_stop
	REGD=$1
	regd_launch
}

bench_push()
{
	local i d r b new=$REGD

	: > "$T/push.direct"
	: > "$T/push.regd"
	: > "$T/push.base"
	for i in $(seq "$REPS"); do
		d=$(direct_push "d$i") || exit 1
		r=$(regd_push "r$i") || exit 1
		echo "$d" >> "$T/push.direct"
		echo "$r" >> "$T/push.regd"
		b=
		if [ -n "$BASE" ]; then
			regd_swap "$BASE"
			b=$(regd_push "b$i") || exit 1
			echo "$b" >> "$T/push.base"
			regd_swap "$new"
		fi
		note "push round $i: direct ${d}s, regd ${r}s${b:+, base ${b}s}"
		# Let radosgw's gc have the deleted parts' memory back.
		"$S3REQ" DELETE "/$S3_BUCKET/direct/d$i" -- -s -o /dev/null
	done
	d=$(median < "$T/push.direct")
	r=$(median < "$T/push.regd")
	echo "push ${MIB} MiB: direct multipart ${d} s ($(mibs "$d") MiB/s)," \
	    "regd ${r} s ($(mibs "$r") MiB/s), ratio $(ratio "$d" "$r")"
	[ -n "$BASE" ] || return 0
	b=$(median < "$T/push.base")
	echo "push ${MIB} MiB through BASE ($BASE): ${b} s" \
	    "($(mibs "$b") MiB/s), ratio to direct $(ratio "$d" "$b")," \
	    "regd / BASE rate $(ratio "$b" "$r")"
}

# The blob's key in the bucket (regd pushed it under root /bench).
H=${D#sha256:}
BLOBKEY=/$S3_BUCKET/bench/docker/registry/v2/blobs/sha256/${H:0:2}/$H/data

# A GET's "time to first byte, total" with curl's own clock.
get_times()
{
	curl -s -f -o /dev/null -w '%{time_starttransfer} %{time_total}\n' \
	    "$@" || fail "GET $*"
}

bench_get()
{
	local i t b new=$REGD

	: > "$T/get.direct"
	: > "$T/get.regd"
	: > "$T/get.base"
	http HEAD "$URL/v2/bench/r1/blobs/$D"
	[ "$STATUS" = 200 ] || regd_push r1 > /dev/null
	for i in $(seq "$REPS"); do
		t=$("$S3REQ" GET "$BLOBKEY" -- -s -f -o /dev/null \
		    -w '%{time_starttransfer} %{time_total}\n') ||
		    fail "direct GET"
		echo "$t" >> "$T/get.direct"
		# Cold: the cache's file goes (regd then finds it missing).
		rm -f "$T/storage/sha256-$H"
		t=$(get_times "$URL/v2/bench/r1/blobs/$D")
		echo "$t" >> "$T/get.regd"
		b=
		if [ -n "$BASE" ]; then
			regd_swap "$BASE"
			rm -f "$T/storage/sha256-$H"
			b=$(get_times "$URL/v2/bench/r1/blobs/$D")
			echo "$b" >> "$T/get.base"
			regd_swap "$new"
		fi
		note "get round $i: direct $(tail -n 1 "$T/get.direct")," \
		    "regd $t${b:+, base $b}"
	done
	dt=$(awk '{ print $1 }' "$T/get.direct" | median)
	ds=$(awk '{ print $2 }' "$T/get.direct" | median)
	rt=$(awk '{ print $1 }' "$T/get.regd" | median)
	rs=$(awk '{ print $2 }' "$T/get.regd" | median)
	echo "cold GET ${MIB} MiB: direct first byte ${dt} s, all ${ds} s" \
	    "($(mibs "$ds") MiB/s); regd first byte ${rt} s, all ${rs} s" \
	    "($(mibs "$rs") MiB/s); rate ratio $(ratio "$ds" "$rs")"
	if [ -n "$BASE" ]; then
		rt=$(awk '{ print $1 }' "$T/get.base" | median)
		rs=$(awk '{ print $2 }' "$T/get.base" | median)
		echo "cold GET ${MIB} MiB through BASE: first byte ${rt} s," \
		    "all ${rs} s ($(mibs "$rs") MiB/s), rate ratio to direct" \
		    "$(ratio "$ds" "$rs")"
	fi
	t=$(get_times "$URL/v2/bench/r1/blobs/$D")
	echo "warm GET ${MIB} MiB through regd: first byte, all: $t"
}

# N sequential requests on one keep-alive connection: ms per request.
per_request()
{
	local n=$1 url=$2 i args=()

	for i in $(seq "$n"); do
		args+=("$url")
	done
	curl -s -o /dev/null -w '%{time_total}\n' "${args[@]}" |
	    awk '{ s += $1 } END { printf "%.3f", NR ? 1000 * s / NR : 0 }'
}

bench_redir()
{
	local m b n=${BENCH_S3_REQS:-300}

	regd_stop
	S3_REDIRECT=yes S3_CACHE_SIZE=2G regd_conf
	regd_launch
	push_image bench/img v1
	http GET "$URL/v2/bench/r1/blobs/$D"
	[ "$STATUS" = 200 ] && fail "redirect yes: no 307 but $STATUS"
	# Warm both paths, then measure each twice, interleaved.
	per_request 20 "$URL/v2/bench/img/manifests/$IMG_DIGEST" > /dev/null
	per_request 20 "$URL/v2/bench/r1/blobs/$D" > /dev/null
	m=$(per_request "$n" "$URL/v2/bench/img/manifests/$IMG_DIGEST")
	b=$(per_request "$n" "$URL/v2/bench/r1/blobs/$D")
	echo "redirect yes, $n requests each on one connection:" \
	    "manifest GET ${m} ms, blob GET 307 ${b} ms," \
	    "added $(awk -v a="$b" -v b="$m" 'BEGIN { printf "%.3f", a - b }') ms"
}

# wrk on URL for BENCH_S3_SECS: requests per second.
rate()
{
	wrk -t 2 -c 16 -d "${BENCH_S3_SECS:-6}s" "$1" 2>&1 |
	    awk '/^Requests\/sec:/ { printf "%.0f", $2 }'
}

bench_nginx()
{
	local one two dig

	command -v wrk >/dev/null || fail "no wrk (regress/bench/deps.sh)"
	command -v nginx >/dev/null || fail "no nginx"
	regd_stop
	. regress/replicas.sh
	trap 'replicas_cleanup; s3_stop' EXIT
	S3_ROOT=/bench
	replica_start 1
	replica_start 2
	URL=${RURL[1]}
	push_image bench/img v2
	dig=$IMG_DIGEST
	NPORT=$(free_port)
	mkdir -p "$T/ngx/logs"
	cat > "$T/ngx.conf" <<NGEOF
worker_processes 2;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $T/ngx/body;
	proxy_temp_path $T/ngx/proxy;
	upstream regd {
		server 127.0.0.1:${RPORT[1]};
		server 127.0.0.1:${RPORT[2]};
		keepalive 32;
	}
	server {
		listen 127.0.0.1:$NPORT;
		location /v2/ {
			proxy_pass http://regd;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$http_host;
		}
	}
}
NGEOF
	nginx -p "$T/ngx" -c "$T/ngx.conf" > "$T/ngx.out" 2>&1 ||
	    fail "nginx: $(cat "$T/ngx.out")"
	trap 'kill "$(cat "$T/ngx/nginx.pid")"; replicas_cleanup; s3_stop' EXIT
	sleep 0.5
	curl -sf -o /dev/null "http://127.0.0.1:$NPORT/v2/bench/img/manifests/$dig" ||
	    fail "no manifest through nginx"
	curl -sf -o /dev/null "${RURL[2]}/v2/bench/img/manifests/$dig" ||
	    fail "no manifest on instance 2"
	one=$(rate "${RURL[1]}/v2/bench/img/manifests/$dig")
	two=$(rate "http://127.0.0.1:$NPORT/v2/bench/img/manifests/$dig")
	echo "manifest GET by digest (wrk 2 threads, 16 connections):" \
	    "one instance ${one}/s, two behind nginx ${two}/s," \
	    "ratio $(ratio "$two" "$one") on $(nproc) CPUs" \
	    "(load average $(cut -d' ' -f1 /proc/loadavg))"
}

S3_CACHE_SIZE=2G regd_conf
regd_launch
note "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for part in ${ONLY:-push get redir nginx}; do
	case $part in
	push)
		bench_push
		;;
	get)
		bench_get
		;;
	redir)
		bench_redir
		;;
	nginx)
		bench_nginx
		;;
	esac
done
note "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
regd_stop
exit 0
