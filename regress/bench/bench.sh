#!/bin/bash
#
# regress/bench/bench.sh: regd against CNCF Distribution (Debian's
# docker-registry) and nginx serving the same files, on loopback, in one
# run.  See regress/bench/README.
#
#   bench.sh [-s] [-d seconds] [-r reps] [-k]
#	-s	smoke: every workload for about 2 s, one repetition
#	-d	seconds per workload (default 6)
#	-r	repetitions, the order of the servers alternating (default 2)
#	-k	keep the temporary directory
#
# Environment: REGD (default ./regd/regd), BENCH_TMP (default /tmp).
# It prints one table on stdout and writes the raw figures to
# $BENCH_OUT (default /tmp/regd-bench-last.tsv).

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
REGD=${REGD:-$TOP/regd/regd}
DUR=6
REPS=2
SMOKE=0
KEEP=0

while getopts "d:kr:s" opt; do
	case $opt in
	d)	DUR=$OPTARG ;;
	k)	KEEP=1 ;;
	r)	REPS=$OPTARG ;;
	s)	SMOKE=1; DUR=2; REPS=1 ;;
	*)	echo "usage: bench.sh [-ks] [-d seconds] [-r reps]" >&2; exit 2 ;;
	esac
done

NCPU=$(nproc)
BENCH_OUT=${BENCH_OUT:-${BENCH_TMP:-/tmp}/regd-bench-last.tsv}
SCHEMA=application/vnd.oci.image.manifest.v1+json
ACCEPT="$SCHEMA, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json"
REPO=bench/app
NTAGS=100
NREPOS=50
MIB=1048576

B=
PIDS_REGD=
PIDS_DIST=
PIDS_NGINX=
TLS=0

die()
{
	echo "bench: $*" >&2
	exit 1
}

say()
{
	echo "bench: [$(( $(date +%s) - ${T_START:-$(date +%s)} ))s] $*" >&2
}

for tool in wrk curl nginx docker-registry openssl python3 jq; do
	command -v "$tool" >/dev/null 2>&1 ||
	    die "$tool is missing (make bench installs wrk; see README)"
done
[ -x "$REGD" ] || die "$REGD not built (make all)"

# Kill what this script started, by pid, and wait for it.
cleanup()
{
	local p

	trap - EXIT INT TERM HUP
	for p in $PIDS_REGD $PIDS_DIST $PIDS_NGINX; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS_REGD $PIDS_DIST $PIDS_NGINX; do
		wait "$p" 2>/dev/null
	done
	if [ -n "$B" ]; then
		if [ "$KEEP" -eq 1 ]; then
			say "kept $B"
		else
			rm -rf "$B"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

now()
{
	date +%s.%N
}

# Milliseconds of the clock.
ms()
{
	echo $(( $(date +%s%N) / 1000000 ))
}

# fsub A B: A - B with decimals.
fsub()
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a - b }'
}

free_port()
{
	local p i

	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		case " ${USED_PORTS:-} " in
		*" $p "*) continue ;;
		esac
		if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
			USED_PORTS="${USED_PORTS:-} $p"
			echo "$p"
			return 0
		fi
	done
	die "no free port"
}

# wait_url URL [curl args]: up to 10 s for an answer below 500.
wait_url()
{
	local url=$1 n=100 code

	shift
	while [ "$n" -gt 0 ]; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    "$@" "$url")
		case $code in
		[234]??) return 0 ;;
		esac
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

cpu_of()
{
	python3 "$HERE/procs.py" cpu "$1"
}

mem_of()
{
	python3 "$HERE/procs.py" mem "$1"
}

# ---------------------------------------------------------------------
# Test data.

# mutate FILE N: make FILE's first 32 bytes unique so every push sends a
# blob the server has never seen.
mutate()
{
	printf '%016x%016x' "$2" "$(date +%s%N)" |
	    dd of="$1" bs=32 count=1 conv=notrunc status=none
}

sha()
{
	echo "sha256:$(sha256sum < "$1" | cut -d' ' -f1)"
}

make_data()
{
	local i

	mkdir -p "$B/data"
	head -c $((256 * MIB)) /dev/urandom > "$B/data/l256" ||
	    die "no room for test data in $B"
	head -c $MIB /dev/urandom > "$B/data/l1"
	printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%064d","sha256:%064d"]}}' \
	    1 2 > "$B/data/config"
	for i in 1 2 3 4; do
		head -c $((64 * MIB)) /dev/urandom > "$B/data/p64.$i"
	done
	head -c $((64 * MIB)) /dev/urandom > "$B/data/c64"
	D_CONFIG=$(sha "$B/data/config")
	D_L1=$(sha "$B/data/l1")
	D_L256=$(sha "$B/data/l256")
	# About 1 KiB of manifest, like a small real image's.
	jq -cn --arg c "$D_CONFIG" --argjson cs "$(stat -c %s "$B/data/config")" \
	    --arg l1 "$D_L1" --argjson s1 "$(stat -c %s "$B/data/l1")" \
	    --arg l2 "$D_L256" --argjson s2 "$(stat -c %s "$B/data/l256")" '{
		schemaVersion: 2,
		mediaType: "'$SCHEMA'",
		config: { mediaType: "application/vnd.oci.image.config.v1+json",
		    digest: $c, size: $cs },
		layers: [
		    { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
		      digest: $l1, size: $s1 },
		    { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
		      digest: $l2, size: $s2 } ],
		annotations: {
		    "org.opencontainers.image.created": "2024-01-01T00:00:00Z",
		    "org.opencontainers.image.authors": "regd bench",
		    "org.opencontainers.image.url": "https://example.org/regd/bench",
		    "org.opencontainers.image.source": "https://example.org/regd/bench.git",
		    "org.opencontainers.image.version": "1.0.0",
		    "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
		    "org.opencontainers.image.vendor": "regd",
		    "org.opencontainers.image.licenses": "ISC",
		    "org.opencontainers.image.title": "bench image",
		    "org.opencontainers.image.description": "a manifest of about one kibibyte, for the manifest GET workload of the bench" }
	    }' > "$B/data/manifest"
	D_MAN=$(sha "$B/data/manifest")
	jq -cn --arg c "$D_CONFIG" \
	    --argjson cs "$(stat -c %s "$B/data/config")" '{
		schemaVersion: 2, mediaType: "'$SCHEMA'",
		config: { mediaType: "application/vnd.oci.image.config.v1+json",
		    digest: $c, size: $cs },
		layers: [] }' > "$B/data/small"
}

# ---------------------------------------------------------------------
# Servers.

regd_conf()
{
	# regd_conf FILE TLS-LISTEN(0/1)
	{
		echo "storage \"$B/regd/storage\""
		echo "socket \"$B/regd/regd.sock\""
		echo "prefork $NCPU"
		echo "log access \"$B/regd/access.log\""
		echo "server \"bench\" {"
		echo "	listen on 127.0.0.1 port $P_REGD"
		if [ "$2" -eq 1 ]; then
			echo "	listen on 127.0.0.1 port $P_REGD_TLS tls"
			echo "	tls certificate \"$B/tls/cert.pem\""
			echo "	tls key \"$B/tls/key.pem\""
		fi
		echo "	delete yes"
		echo "}"
	} > "$1"
}

# The TLS part runs only if this regd accepts a tls listener and then
# completes a handshake on it.
probe_tls()
{
	local pid ok=0

	regd_conf "$B/regd/tls.conf" 1
	if ! "$REGD" -n -f "$B/regd/tls.conf" >/dev/null 2>&1; then
		TLS_WHY="regd -n rejects a tls listener"
		return 1
	fi
	"$REGD" -d -f "$B/regd/tls.conf" >> "$B/regd/probe.log" 2>&1 &
	pid=$!
	PIDS_REGD=$pid
	if wait_url "https://127.0.0.1:$P_REGD_TLS/v2/" -k; then
		ok=1
	fi
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	PIDS_REGD=
	if [ "$ok" -eq 0 ]; then
		TLS_WHY="tls config accepted but no TLS handshake"
		return 1
	fi
	return 0
}

start_regd()
{
	mkdir -p "$B/regd/storage"
	[ "$(id -u)" -eq 0 ] && chown -R _regd "$B/regd/storage"
	if [ "$TLS" -eq 1 ]; then
		regd_conf "$B/regd/regd.conf" 1
	else
		regd_conf "$B/regd/regd.conf" 0
	fi
	"$REGD" -d -f "$B/regd/regd.conf" >> "$B/regd/regd.log" 2>&1 &
	PIDS_REGD=$!
	U_REGD=http://127.0.0.1:$P_REGD
	wait_url "$U_REGD/v2/" || die "regd did not start: $(tail -5 "$B/regd/regd.log")"
}

start_dist()
{
	mkdir -p "$B/dist/storage"
	cat > "$B/dist/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $B/dist/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$P_DIST
  secret: regd-bench-not-a-secret
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: false
EOF
	docker-registry serve "$B/dist/config.yml" > "$B/dist/registry.log" 2>&1 &
	PIDS_DIST=$!
	U_DIST=http://127.0.0.1:$P_DIST
	wait_url "$U_DIST/v2/" || die "docker-registry did not start: $(tail -5 "$B/dist/registry.log")"
}

# nginx serves regd's own blob files: /v2/<name>/blobs/<digest> and
# manifests by digest map onto blobs/sha256/<hh>/<hex>/data in regd's
# storage; manifests by tag are exact locations written once the tags
# exist.  /put/ takes PUT bodies (the dav module) as the write reference.
start_nginx()
{
	local s=$B/regd/storage/docker/registry/v2/blobs/sha256 tls= user

	mkdir -p "$B/nginx/put" "$B/nginx/tmp"
	# As root, regd's storage belongs to _regd with 0700 directories:
	# nginx's workers read it as _regd.
	user=www-data
	[ "$(id -u)" -eq 0 ] && user=_regd
	chown "$user" "$B/nginx/put" "$B/nginx/tmp"
	if [ "$TLS" -eq 1 ]; then
		tls="listen 127.0.0.1:$P_NGINX_TLS ssl;
		ssl_certificate $B/tls/cert.pem;
		ssl_certificate_key $B/tls/key.pem;"
	fi
	cat > "$B/nginx/nginx.conf" <<EOF
daemon off;
user $user;
worker_processes $NCPU;
pid $B/nginx/nginx.pid;
error_log $B/nginx/error.log warn;
events {
	worker_connections 4096;
}
http {
	types { }
	default_type application/octet-stream;
	access_log $B/nginx/access.log;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_requests 1000000;
	keepalive_timeout 60;
	client_body_temp_path $B/nginx/tmp;
	proxy_temp_path $B/nginx/tmp;
	fastcgi_temp_path $B/nginx/tmp;
	uwsgi_temp_path $B/nginx/tmp;
	scgi_temp_path $B/nginx/tmp;
	server {
		listen 127.0.0.1:$P_NGINX;
		$tls
		location = /v2/ {
			default_type application/json;
			return 200 "{}";
		}
		location ~ "^/v2/.+/blobs/sha256:(?<hh>[0-9a-f]{2})(?<rest>[0-9a-f]{62})\$" {
			alias $s/\$hh/\$hh\$rest/data;
			add_header Docker-Content-Digest sha256:\$hh\$rest;
		}
		location ~ "^/v2/.+/manifests/sha256:(?<mh>[0-9a-f]{2})(?<mrest>[0-9a-f]{62})\$" {
			default_type $SCHEMA;
			alias $s/\$mh/\$mh\$mrest/data;
			add_header Docker-Content-Digest sha256:\$mh\$mrest;
		}
		include $B/nginx/tags.conf;
		location /put/ {
			root $B/nginx;
			dav_methods PUT;
			create_full_put_path on;
			client_max_body_size 0;
		}
	}
}
EOF
	: > "$B/nginx/tags.conf"
	nginx -c "$B/nginx/nginx.conf" -e "$B/nginx/error.log" \
	    > "$B/nginx/stderr" 2>&1 &
	PIDS_NGINX=$!
	U_NGINX=http://127.0.0.1:$P_NGINX
	wait_url "$U_NGINX/v2/" || die "nginx did not start: $(cat "$B/nginx/error.log" "$B/nginx/stderr")"
}

# The tag's location for nginx, to the file regd stored for the manifest.
nginx_tags()
{
	local h=${D_MAN#sha256:}

	cat > "$B/nginx/tags.conf" <<EOF
location = /v2/$REPO/manifests/latest {
	default_type $SCHEMA;
	alias $B/regd/storage/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data;
	add_header Docker-Content-Digest $D_MAN;
}
EOF
	kill -HUP "$PIDS_NGINX"
	sleep 1
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$U_NGINX/v2/$REPO/manifests/latest")" = 200 ] ||
	    die "nginx does not serve the tag: $(tail -3 "$B/nginx/error.log")"
}

# ---------------------------------------------------------------------
# Pushes.  Each prints "<seconds of transfer> <status>" where seconds is
# the sum of curl's time_total over the requests of the push (no process
# start-up counted).

# push_mono KIND URL REPO FILE DIGEST
#	regd: one POST ?digest= with the body
#	dist: POST, then PUT ?digest= with the body (Distribution 2.8 does
#	      not take a body on POST)
#	nginx: one PUT of the file (no digest: the write reference)
push_mono()
{
	local kind=$1 url=$2 repo=$3 file=$4 d=$5 size out loc t1 t2

	size=$(stat -c %s "$file")
	case $kind in
	regd)
		curl -s -o /dev/null -w '%{time_total} %{http_code}\n' \
		    --max-time 120 -X POST -T - -H "Content-Length: $size" \
		    -H 'Transfer-Encoding:' -H 'Expect:' \
		    -H 'Content-Type: application/octet-stream' \
		    "$url/v2/$repo/blobs/uploads/?digest=$d" < "$file"
		;;
	dist)
		out=$(curl -s -o /dev/null -D - -w 'TIME %{time_total}\n' \
		    --max-time 30 -X POST -H 'Content-Length: 0' \
		    "$url/v2/$repo/blobs/uploads/" | tr -d '\r')
		loc=$(echo "$out" | awk 'tolower($1) == "location:" { print $2 }')
		t1=$(echo "$out" | awk '$1 == "TIME" { print $2 }')
		if [ -z "$loc" ]; then
			echo "$t1 000"
			return
		fi
		case $loc in
		/*) loc=$url$loc ;;
		esac
		out=$(curl -s -o /dev/null -w '%{time_total} %{http_code}' \
		    --max-time 120 -T "$file" -H 'Expect:' \
		    -H 'Content-Type: application/octet-stream' \
		    "$loc&digest=$d")
		t2=${out% *}
		echo "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print a + b }') ${out#* }"
		;;
	nginx)
		curl -s -o /dev/null -w '%{time_total} %{http_code}\n' \
		    --max-time 120 -T "$file" -H 'Expect:' "$url/put/${d#sha256:}"
		;;
	esac
}

# push_chunked URL REPO FILE DIGEST: POST, 8 MiB PATCHes with
# Content-Range, PUT ?digest=.  The PATCH bodies are read from
# FILE.part.0, FILE.part.1, ... (split_parts), so that, as in the
# monolithic push, curl sends from a file and no pipe of other
# processes is timed with the server.
push_chunked()
{
	local url=$1 repo=$2 file=$3 d=$4 size off end out loc t total=0 code

	size=$(stat -c %s "$file")
	out=$(curl -s -o /dev/null -D - -w 'TIME %{time_total} %{http_code}\n' \
	    --max-time 30 -X POST -H 'Content-Length: 0' \
	    "$url/v2/$repo/blobs/uploads/" | tr -d '\r')
	off=0
	while :; do
		loc=$(echo "$out" | awk 'tolower($1) == "location:" { print $2 }')
		t=$(echo "$out" | awk '$1 == "TIME" { print $2 }')
		code=$(echo "$out" | awk '$1 == "TIME" { print $3 }')
		total=$(awk -v a="$total" -v b="$t" 'BEGIN { print a + b }')
		if [ -z "$loc" ] || [ "$code" != 202 ]; then
			echo "$total ${code:-000}"
			return
		fi
		case $loc in
		/*) loc=$url$loc ;;
		esac
		[ "$off" -ge "$size" ] && break
		end=$((off + 8 * MIB - 1))
		[ "$end" -ge "$size" ] && end=$((size - 1))
		out=$(curl -s -o /dev/null -D - -w 'TIME %{time_total} %{http_code}\n' \
		    --max-time 60 -X PATCH -T "$file.part.$((off / (8 * MIB)))" \
		    -H 'Expect:' -H "Content-Length: $((end - off + 1))" \
		    -H "Content-Range: $off-$end" \
		    -H 'Content-Type: application/octet-stream' "$loc" |
		    tr -d '\r')
		off=$((end + 1))
	done
	case $loc in
	*\?*) loc="$loc&digest=$d" ;;
	*) loc="$loc?digest=$d" ;;
	esac
	out=$(curl -s -o /dev/null -w '%{time_total} %{http_code}' \
	    --max-time 60 -X PUT -H 'Content-Length: 0' "$loc")
	echo "$(awk -v a="$total" -v b="${out% *}" 'BEGIN { print a + b }') ${out#* }"
}

# ---------------------------------------------------------------------
# Seeding: the same blobs, manifest, 100 tags and 50 more repositories on
# regd and on Distribution, through the API.

seed()
{
	local kind=$1 url=$2 f r code urls i

	for f in config l1 l256; do
		r=$(push_mono "$kind" "$url" "$REPO" "$B/data/$f" \
		    "$(sha "$B/data/$f")")
		[ "${r#* }" = 201 ] || die "$kind: seeding blob $f: $r"
	done
	urls=
	for i in $(seq 1 $((NTAGS - 1))); do
		urls="$urls $url/v2/$REPO/manifests/$(printf 'v1.%03d' "$i")"
	done
	code=$(curl -s -o /dev/null -w '%{http_code}\n' -X PUT \
	    -H "Content-Type: $SCHEMA" --data-binary "@$B/data/manifest" \
	    "$url/v2/$REPO/manifests/latest" $urls | sort -u | tr '\n' ' ')
	[ "$code" = "201 " ] || die "$kind: seeding tags: $code"
	# One curl for the mounts and one for the manifests, on a kept-alive
	# connection each.
	urls=
	for i in $(seq 1 $NREPOS); do
		urls="$urls $url/v2/$(printf 'bench/r%03d' "$i")/blobs/uploads/?mount=$D_CONFIG&from=$REPO"
	done
	code=$(curl -s -o /dev/null -w '%{http_code}\n' -X POST \
	    -H 'Content-Length: 0' $urls | sort -u | tr '\n' ' ')
	[ "$code" = "201 " ] || die "$kind: mounts into bench/r*: $code"
	urls=
	for i in $(seq 1 $NREPOS); do
		urls="$urls $url/v2/$(printf 'bench/r%03d' "$i")/manifests/latest"
	done
	code=$(curl -s -o /dev/null -w '%{http_code}\n' -X PUT \
	    -H "Content-Type: $SCHEMA" --data-binary "@$B/data/small" \
	    $urls | sort -u | tr '\n' ' ')
	[ "$code" = "201 " ] || die "$kind: manifests in bench/r*: $code"
	[ "$(curl -s -H "Accept: $ACCEPT" "$url/v2/$REPO/manifests/latest" | sha256sum | cut -d' ' -f1)" = "${D_MAN#sha256:}" ] ||
	    die "$kind: manifest GET differs"
	[ "$(curl -s "$url/v2/$REPO/tags/list" | jq '.tags | length')" = "$NTAGS" ] ||
	    die "$kind: tags list is not $NTAGS long"
}

# ---------------------------------------------------------------------
# Workloads.  Each appends to $RES one line per server and repetition:
# workload server rep rate unit p99_ms cpu_s work errors
# where work is requests (req/s workloads) or bytes (MB/s workloads).

result()
{
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$RES"
}

# result_mbs WL SERVER REP BYTES SECS CPU0 CPU1 ERRORS: a transfer phase.
result_mbs()
{
	result "$1" "$2" "$3" \
	    "$(awk -v b="$4" -v s="$5" 'BEGIN { printf "%.1f", (s > 0 ? b / s / 1e6 : 0) }')" \
	    MB/s - "$(fsub "$7" "$6")" "$4" "$8"
}

server_url()
{
	case $1 in
	regd) echo "$U_REGD" ;;
	dist) echo "$U_DIST" ;;
	nginx) echo "$U_NGINX" ;;
	regd-tls) echo "https://127.0.0.1:$P_REGD_TLS" ;;
	nginx-tls) echo "https://127.0.0.1:$P_NGINX_TLS" ;;
	esac
}

server_pid()
{
	case $1 in
	regd*) echo "$PIDS_REGD" ;;
	dist) echo "$PIDS_DIST" ;;
	nginx*) echo "$PIDS_NGINX" ;;
	esac
}

# run_wrk WL SERVER REP CONNS PATH METHOD UNIT
run_wrk()
{
	local wl=$1 srv=$2 rep=$3 conns=$4 path=$5 method=$6 unit=$7
	local pid c0 c1 out line req bytes us err non2 p99 rate

	pid=$(server_pid "$srv")
	c0=$(cpu_of "$pid")
	if [ "$method" = HEAD ]; then
		# wrk cannot time HEAD: it waits for a body.
		out=$(timeout $((DUR + 30)) "$B/headload" -m HEAD \
		    -t "$NCPU" -c "$conns" -d "$DUR" \
		    "$(server_url "$srv")$path" 2>&1)
	else
		out=$(WRK_METHOD=$method WRK_ACCEPT=$ACCEPT \
		    timeout $((DUR + 30)) wrk -t "$NCPU" -c "$conns" \
		    -d "${DUR}s" --timeout 5s -s "$HERE/report.lua" \
		    "$(server_url "$srv")$path" 2>&1)
	fi
	c1=$(cpu_of "$pid")
	line=$(echo "$out" | awk '$1 == "RESULT"')
	if [ -z "$line" ]; then
		say "$wl $srv: wrk gave no result: $out"
		result "$wl" "$srv" "$rep" 0 "$unit" 0 0 0 1
		return
	fi
	set -- $line
	req=$2 bytes=$3 us=$4 err=$5 non2=$6 p99=$8
	if [ "$unit" = "MB/s" ]; then
		rate=$(awk -v b="$bytes" -v u="$us" 'BEGIN { printf "%.1f", b / u }')
		result "$wl" "$srv" "$rep" "$rate" "$unit" \
		    "$(awk -v p="$p99" 'BEGIN { printf "%.2f", p / 1000 }')" \
		    "$(fsub "$c1" "$c0")" "$bytes" $((err + non2))
	else
		rate=$(awk -v r="$req" -v u="$us" 'BEGIN { printf "%.0f", r * 1e6 / u }')
		result "$wl" "$srv" "$rep" "$rate" "$unit" \
		    "$(awk -v p="$p99" 'BEGIN { printf "%.2f", p / 1000 }')" \
		    "$(fsub "$c1" "$c0")" "$req" $((err + non2))
	fi
}

# run_stream WL SERVER REP: the 256 MiB blob, one stream, again and again
# for DUR seconds; MB/s over the sum of the transfer times.
run_stream()
{
	local wl=$1 srv=$2 rep=$3 pid c0 c1 t0 url out bytes=0 secs=0 err=0 n=0

	pid=$(server_pid "$srv")
	url=$(server_url "$srv")/v2/$REPO/blobs/$D_L256
	c0=$(cpu_of "$pid")
	t0=$(ms)
	while [ "$n" -lt 1 ] || [ $(( $(ms) - t0 )) -lt $((DUR * 1000)) ]; do
		out=$(curl -k -s -o /dev/null --max-time 60 \
		    -w '%{size_download} %{time_total} %{http_code}' "$url")
		set -- $out
		if [ "${3:-000}" != 200 ] || [ "$1" != $((256 * MIB)) ]; then
			err=$((err + 1))
		fi
		# A stall is worth knowing about even when the median hides it.
		if awk -v t="${2:-0}" 'BEGIN { exit !(t > 2) }'; then
			say "$wl $srv: one 256 MiB GET took ${2}s"
			echo "$wl on $srv: one 256 MiB GET took ${2} s" \
			    >> "$B/stalls"
		fi
		bytes=$((bytes + ${1:-0}))
		secs=$(awk -v a="$secs" -v b="${2:-0}" 'BEGIN { print a + b }')
		n=$((n + 1))
		[ "$n" -ge 200 ] && break
	done
	c1=$(cpu_of "$pid")
	result_mbs "$wl" "$srv" "$rep" "$bytes" "$secs" "$c0" "$c1" "$err"
}

# run_push WL SERVER REP: monolithic 256 MiB pushes for DUR seconds.
run_push()
{
	local wl=$1 srv=$2 rep=$3 pid url c0 c1 t0 f d out bytes=0 secs=0
	local err=0 n=0 size

	pid=$(server_pid "$srv")
	url=$(server_url "$srv")
	f=$B/data/l256
	size=$(stat -c %s "$f")
	c0=$(cpu_of "$pid")
	t0=$(ms)
	while [ "$n" -lt 1 ] || [ $(( $(ms) - t0 )) -lt $((DUR * 1000)) ]; do
		PUSHNO=$((PUSHNO + 1))
		mutate "$f" "$PUSHNO"
		d=$(sha "$f")
		out=$(push_mono "$srv" "$url" bench/push "$f" "$d")
		case ${out#* } in
		201|204) ;;
		*) err=$((err + 1)) ;;
		esac
		bytes=$((bytes + size))
		secs=$(awk -v a="$secs" -v b="${out% *}" 'BEGIN { print a + b }')
		n=$((n + 1))
		[ "$n" -ge 20 ] && break
	done
	c1=$(cpu_of "$pid")
	result_mbs "$wl" "$srv" "$rep" "$bytes" "$secs" "$c0" "$c1" "$err"
}

# run_parallel WL SERVER REP: four 64 MiB pushes at once, wall time.
run_parallel()
{
	local wl=$1 srv=$2 rep=$3 pid url c0 c1 t0 s0 s1 i d out bytes=0
	local secs=0 err=0 n=0 pp

	pid=$(server_pid "$srv")
	url=$(server_url "$srv")
	c0=$(cpu_of "$pid")
	t0=$(ms)
	while [ "$n" -lt 1 ] || [ $(( $(ms) - t0 )) -lt $((DUR * 1000)) ]; do
		for i in 1 2 3 4; do
			PUSHNO=$((PUSHNO + 1))
			mutate "$B/data/p64.$i" "$PUSHNO"
			sha "$B/data/p64.$i" > "$B/data/p64.$i.d"
		done
		s0=$(now)
		pp=
		for i in 1 2 3 4; do
			push_mono "$srv" "$url" "bench/par$i" "$B/data/p64.$i" \
			    "$(cat "$B/data/p64.$i.d")" > "$B/data/p64.$i.out" &
			pp="$pp $!"
		done
		wait $pp
		s1=$(now)
		for i in 1 2 3 4; do
			out=$(cat "$B/data/p64.$i.out")
			case ${out#* } in
			201|204) ;;
			*) err=$((err + 1)) ;;
			esac
			bytes=$((bytes + 64 * MIB))
		done
		secs=$(awk -v a="$secs" -v b="$s0" -v c="$s1" 'BEGIN { print a + c - b }')
		n=$((n + 1))
		[ "$n" -ge 20 ] && break
	done
	c1=$(cpu_of "$pid")
	result_mbs "$wl" "$srv" "$rep" "$bytes" "$secs" "$c0" "$c1" "$err"
}

# split_parts FILE: FILE.part.N, the 8 MiB pieces of FILE for
# push_chunked, written before the timed transfer.
split_parts()
{
	local i=0 n

	n=$((($(stat -c %s "$1") + 8 * MIB - 1) / (8 * MIB)))
	while [ "$i" -lt "$n" ]; do
		dd if="$1" of="$1.part.$i" bs=$((8 * MIB)) skip="$i" count=1 \
		    status=none
		i=$((i + 1))
	done
}

# run_chunked WL SERVER REP: 64 MiB in 8 MiB PATCHes for DUR seconds.
run_chunked()
{
	local wl=$1 srv=$2 rep=$3 pid url c0 c1 t0 f d out bytes=0 secs=0
	local err=0 n=0 size

	pid=$(server_pid "$srv")
	url=$(server_url "$srv")
	f=$B/data/c64
	size=$(stat -c %s "$f")
	c0=$(cpu_of "$pid")
	t0=$(ms)
	while [ "$n" -lt 1 ] || [ $(( $(ms) - t0 )) -lt $((DUR * 1000)) ]; do
		PUSHNO=$((PUSHNO + 1))
		mutate "$f" "$PUSHNO"
		d=$(sha "$f")
		split_parts "$f"
		out=$(push_chunked "$url" bench/chunked "$f" "$d")
		[ "${out#* }" = 201 ] || err=$((err + 1))
		bytes=$((bytes + size))
		secs=$(awk -v a="$secs" -v b="${out% *}" 'BEGIN { print a + b }')
		n=$((n + 1))
		[ "$n" -ge 20 ] && break
	done
	c1=$(cpu_of "$pid")
	result_mbs "$wl" "$srv" "$rep" "$bytes" "$secs" "$c0" "$c1" "$err"
}

# The blobs pushed by the push workloads are never read again; remove
# their data files between workloads so the disk does not fill up.  Only
# blobs/ under bench/push, bench/par* and bench/chunked are touched.
drop_pushed()
{
	local root=$1 name l h

	for name in push par1 par2 par3 par4 chunked; do
		for l in "$root"/repositories/bench/$name/_layers/sha256/*; do
			[ -d "$l" ] || continue
			h=${l##*/}
			rm -f "$root/blobs/sha256/${h:0:2}/$h/data"
		done
	done
	rm -f "$B"/nginx/put/*
}

# servers_for WL REP: the servers a workload runs on, in this
# repetition's order (reversed every other repetition).
servers_for()
{
	local list

	case $1 in
	tags|catalog|chunk64) list="regd dist" ;;
	tls_*) list="regd-tls nginx-tls" ;;
	*) list="regd dist nginx" ;;
	esac
	if [ $(($2 % 2)) -eq 0 ]; then
		echo "$list" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }'
	else
		echo "$list"
	fi
}

run_workload()
{
	local wl=$1 rep=$2 srv t0 t1

	for srv in $(servers_for "$wl" "$rep"); do
		say "rep $rep: $wl on $srv"
		t0=$(date +%s)
		case $wl in
		mget|tls_mget)
			run_wrk "$wl" "$srv" "$rep" 64 \
			    "/v2/$REPO/manifests/latest" GET req/s ;;
		bhead)
			run_wrk "$wl" "$srv" "$rep" 64 \
			    "/v2/$REPO/blobs/$D_L1" HEAD req/s ;;
		tags)
			run_wrk "$wl" "$srv" "$rep" 64 \
			    "/v2/$REPO/tags/list" GET req/s ;;
		catalog)
			run_wrk "$wl" "$srv" "$rep" 64 \
			    "/v2/_catalog?n=100" GET req/s ;;
		get1m)
			run_wrk "$wl" "$srv" "$rep" 16 \
			    "/v2/$REPO/blobs/$D_L1" GET MB/s ;;
		get256|tls_get256)
			run_stream "$wl" "$srv" "$rep" ;;
		push256)
			run_push "$wl" "$srv" "$rep" ;;
		push4x64)
			run_parallel "$wl" "$srv" "$rep" ;;
		chunk64)
			run_chunked "$wl" "$srv" "$rep" ;;
		esac
		# A phase far longer than asked for means the machine or a
		# server stalled: say so in the table rather than hide it.
		t1=$(date +%s)
		if [ $((t1 - t0)) -gt $((DUR * 3 + 20)) ]; then
			say "$wl on $srv took $((t1 - t0)) s"
			echo "$wl on $srv: $((t1 - t0)) s for a ${DUR} s phase" \
			    >> "$B/stalls"
		fi
		case $wl in
		push*|chunk*)
			drop_pushed "$B/regd/storage/docker/registry/v2"
			drop_pushed "$B/dist/storage/docker/registry/v2"
			;;
		esac
	done
}

# ---------------------------------------------------------------------
# Main.

B=$(mktemp -d "${BENCH_TMP:-/tmp}/regd-bench.XXXXXXXX") || exit 1
chmod 0755 "$B"
mkdir -p "$B/regd" "$B/dist" "$B/nginx" "$B/tls"
RES=$B/results.tsv
: > "$RES"
PUSHNO=0
T_START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$B/headload" \
    "$HERE/headload.c" -lpthread || die "cannot build headload"

# A private copy of the binary: a rebuild during the run cannot swap it.
cp "$REGD" "$B/regd/regd" || die "cannot copy $REGD"
REGD=$B/regd/regd

P_REGD=$(free_port)
P_REGD_TLS=$(free_port)
P_DIST=$(free_port)
P_NGINX=$(free_port)
P_NGINX_TLS=$(free_port)

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$B/tls/key.pem" -out "$B/tls/cert.pem" >/dev/null 2>&1 ||
    die "openssl req failed"
chmod 0644 "$B/tls/key.pem"

say "test data in $B"
make_data
TLS_WHY=
if probe_tls; then
	TLS=1
fi

say "sha256: openssl speed -evp sha256 (single core)"
SHA_RATE=$(openssl speed -mr -seconds "$([ "$SMOKE" -eq 1 ] && echo 1 || echo 3)" \
    -bytes 16384 -evp sha256 2>/dev/null |
    awk -F: '$1 == "+F" { printf "%.0f", $4 / 1e6 }')

start_regd
start_dist
start_nginx
sleep 1
MEM0_REGD=$(mem_of "$PIDS_REGD")
MEM0_DIST=$(mem_of "$PIDS_DIST")
MEM0_NGINX=$(mem_of "$PIDS_NGINX")

say "seeding regd and Distribution"
seed regd "$U_REGD"
seed dist "$U_DIST"
nginx_tags
[ "$(curl -s "$U_NGINX/v2/$REPO/blobs/$D_L1" | sha256sum | cut -d' ' -f1)" = "${D_L1#sha256:}" ] ||
    die "nginx does not serve regd's blob file"

WORKLOADS="mget bhead tags catalog get1m get256 push256 push4x64 chunk64"
[ "$TLS" -eq 1 ] && WORKLOADS="$WORKLOADS tls_mget tls_get256"
for rep in $(seq 1 "$REPS"); do
	for wl in $WORKLOADS; do
		run_workload "$wl" "$rep"
	done
done

sleep 1
MEM1_REGD=$(mem_of "$PIDS_REGD")
MEM1_DIST=$(mem_of "$PIDS_DIST")
MEM1_NGINX=$(mem_of "$PIDS_NGINX")
PEAKS_REGD=$(python3 "$HERE/procs.py" peaks "$PIDS_REGD")
T_END=$(date +%s)

{
	printf 'meta\tdate\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'meta\tmachine\t%s\n' "$(uname -srm), $NCPU CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	printf 'meta\tload\t%s at the start, %s at the end\n' "$LOAD0" \
	    "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf 'meta\tmode\t%s\n' "$([ "$SMOKE" -eq 1 ] && echo smoke || echo full), ${DUR} s per workload, $REPS repetition(s)"
	printf 'meta\tseconds\t%s\n' $((T_END - T_START))
	printf 'meta\tsha256\t%s\n' "${SHA_RATE:-0}"
	printf 'meta\ttls\t%s\n' "$([ "$TLS" -eq 1 ] && echo yes || echo "$TLS_WHY")"
	printf 'meta\tversions\t%s\n' "$(docker-registry --version 2>&1 | awk '{ print $NF }'); nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'); wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')"
	printf 'meta\tpeaks\t%s\n' "$PEAKS_REGD"
	if [ -s "$B/stalls" ]; then
		printf 'meta\tstalls\t%s\n' "$(paste -s -d ';' "$B/stalls")"
	fi
	printf 'mem\tregd\t%s\t%s\n' "$MEM0_REGD" "$MEM1_REGD"
	printf 'mem\tdist\t%s\t%s\n' "$MEM0_DIST" "$MEM1_DIST"
	printf 'mem\tnginx\t%s\t%s\n' "$MEM0_NGINX" "$MEM1_NGINX"
	sed -e 's/^/res\t/' "$RES"
} > "$BENCH_OUT"

python3 "$HERE/table.py" "$BENCH_OUT"
