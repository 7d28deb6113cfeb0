#!/bin/bash
#
# regress/bench/profile.sh: where regd's CPU goes, per bench workload.
# Starts regd with one frontend, seeds it like bench.sh, and for each
# workload records the frontend and the storage process with perf while
# wrk (or a push loop) runs, then prints how the samples split between
# the processes and the top inclusive symbols of each.
#
#   profile.sh [-d seconds] [workload...]
#	workloads: mget tags catalog bhead get256 push256 (default: all)
#
# Environment: REGD (default ./regd/regd), PROFILE_OUT (default
# /tmp/regd-profile), where perf.data files and reports stay.

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
REGD=${REGD:-$TOP/regd/regd}
OUT=${PROFILE_OUT:-/tmp/regd-profile}
DUR=5
SCHEMA=application/vnd.oci.image.manifest.v1+json
REPO=bench/app
MIB=1048576
PID=

while getopts "d:" opt; do
	case $opt in
	d)	DUR=$OPTARG ;;
	*)	echo "usage: profile.sh [-d seconds] [workload...]" >&2
		exit 2 ;;
	esac
done
shift $((OPTIND - 1))
WLS=${*:-mget tags catalog bhead get256 push256}

die()
{
	echo "profile: $*" >&2
	exit 1
}

B=$(mktemp -d /tmp/regd-prof.XXXXXXXX) || exit 1
chmod 0755 "$B"
cleanup()
{
	trap - EXIT
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$B"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

command -v perf >/dev/null 2>&1 || die "perf is missing"
mkdir -p "$OUT" "$B/storage"
[ "$(id -u)" -eq 0 ] && chown _regd "$B/storage"
cp "$REGD" "$B/regd" || die "no $REGD"
cc -O2 -Wall -o "$B/headload" "$HERE/headload.c" -lpthread ||
    die "cannot build headload"
PORT=$((20000 + RANDOM % 30000))
URL=http://127.0.0.1:$PORT
cat > "$B/regd.conf" <<EOF
storage "$B/storage"
socket "$B/regd.sock"
prefork 1
log access "$B/access.log"
server "profile" {
	listen on 127.0.0.1 port $PORT
}
EOF
"$B/regd" -d -f "$B/regd.conf" > "$B/regd.log" 2>&1 &
PID=$!
for i in $(seq 1 50); do
	curl -sf -o /dev/null "$URL/v2/" && break
	sleep 0.1
done
curl -sf -o /dev/null "$URL/v2/" || die "regd did not start"

titled()
{
	python3 "$HERE/procs.py" pids "$PID" | tr ' ' '\n' | while read -r p; do
		case $(tr '\0' ' ' < "/proc/$p/cmdline") in
		*": $1"*) echo "$p" ;;
		esac
	done | head -1
}
FRONT=$(titled frontend)
STORE=$(titled storage)
[ -n "$FRONT" ] && [ -n "$STORE" ] || die "no frontend or storage process"

push()
{
	local f=$1 d

	d=sha256:$(sha256sum < "$f" | cut -d' ' -f1)
	curl -s -o /dev/null -w '%{http_code}' -X POST -T - \
	    -H "Content-Length: $(stat -c %s "$f")" -H 'Transfer-Encoding:' \
	    -H 'Expect:' "$URL/v2/$2/blobs/uploads/?digest=$d" < "$f"
}

head -c $((256 * MIB)) /dev/urandom > "$B/l256"
printf '{"architecture":"amd64","os":"linux"}' > "$B/config"
[ "$(push "$B/config" "$REPO")" = 201 ] || die "seeding config"
[ "$(push "$B/l256" "$REPO")" = 201 ] || die "seeding layer"
D_CONFIG=sha256:$(sha256sum < "$B/config" | cut -d' ' -f1)
D_L256=sha256:$(sha256sum < "$B/l256" | cut -d' ' -f1)
jq -cn --arg c "$D_CONFIG" --arg l "$D_L256" \
    --argjson ls $((256 * MIB)) '{ schemaVersion: 2,
	mediaType: "'$SCHEMA'",
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: 37 },
	layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
	    digest: $l, size: $ls } ],
	annotations: { "org.opencontainers.image.description":
	    "padding padding padding padding padding padding padding" } }' \
    > "$B/manifest"
urls=
for i in $(seq 1 99); do
	urls="$urls $URL/v2/$REPO/manifests/$(printf 'v1.%03d' "$i")"
done
curl -s -o /dev/null -X PUT -H "Content-Type: $SCHEMA" \
    --data-binary "@$B/manifest" "$URL/v2/$REPO/manifests/latest" $urls
jq -cn --arg c "$D_CONFIG" '{ schemaVersion: 2, mediaType: "'$SCHEMA'",
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: 37 }, layers: [] }' > "$B/small"
for i in $(seq 1 50); do
	r=$(printf 'bench/r%03d' "$i")
	curl -s -o /dev/null -X POST -H 'Content-Length: 0' \
	    "$URL/v2/$r/blobs/uploads/?mount=$D_CONFIG&from=$REPO"
	curl -s -o /dev/null -X PUT -H "Content-Type: $SCHEMA" \
	    --data-binary "@$B/small" "$URL/v2/$r/manifests/latest"
done

# load WORKLOAD: what drives regd while perf records.
load()
{
	local t0 n=0

	case $1 in
	mget)	wrk -t2 -c64 -d"${DUR}s" -H "Accept: $SCHEMA" \
		    "$URL/v2/$REPO/manifests/latest" ;;
	tags)	wrk -t2 -c64 -d"${DUR}s" "$URL/v2/$REPO/tags/list" ;;
	catalog) wrk -t2 -c64 -d"${DUR}s" "$URL/v2/_catalog?n=100" ;;
	bhead)	"$B/headload" -c 64 -d "$DUR" \
		    "$URL/v2/$REPO/blobs/$D_L256" ;;
	get256)	t0=$(date +%s)
		while [ $(( $(date +%s) - t0 )) -lt "$DUR" ]; do
			curl -s -o /dev/null "$URL/v2/$REPO/blobs/$D_L256"
		done ;;
	push256)
		t0=$(date +%s)
		while [ $(( $(date +%s) - t0 )) -lt "$DUR" ]; do
			n=$((n + 1))
			printf '%032d' "$n" | dd of="$B/l256" bs=32 count=1 \
			    conv=notrunc status=none
			push "$B/l256" bench/push > /dev/null
		done ;;
	esac
}

for wl in $WLS; do
	echo "=== $wl"
	perf record -q -e cpu-clock -F 999 -g -p "$FRONT,$STORE" \
	    -o "$OUT/$wl.data" -- sleep "$((DUR + 1))" 2>/dev/null &
	ppid=$!
	sleep 0.5
	load "$wl" 2>&1 | grep -E 'Requests/sec|RESULT' | sed 's/^/  /'
	wait "$ppid"
	echo "--- $wl: samples by process and object (frontend $FRONT," \
	    "storage $STORE)"
	perf report -q -i "$OUT/$wl.data" --no-children --sort pid,dso \
	    -g none -F overhead,sample,pid,dso --stdio 2>/dev/null |
	    grep -v '^$' | tee "$OUT/$wl.split.txt"
	for who in frontend storage; do
		[ "$who" = frontend ] && p=$FRONT || p=$STORE
		echo "--- $wl: $who, inclusive time (syscalls and callers)"
		perf report -q -i "$OUT/$wl.data" --pid "$p" --children \
		    --percentage relative --sort sym -g none \
		    --percent-limit 3 --stdio 2>/dev/null |
		    grep -v -e '^$' -e 'entry_SYSCALL' -e 'do_syscall_64' \
		    -e ' 0x[0-9a-f]*$' -e '\] 0000' | head -25 |
		    tee "$OUT/$wl.$who.txt"
	done
done
