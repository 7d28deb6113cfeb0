#!/bin/bash
#
# regress/s3/ceph.sh start DIR | stop DIR | restart-rgw DIR
#
# A throw-away single-node Ceph for S3 tests: one ceph-mon, one ceph-osd on
# memstore and radosgw (beast) on 127.0.0.1, as plain processes, no
# systemd, no cephx, every file under DIR.  "start" writes DIR/env
# (S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION, S3_PIDS) for a
# shell to source, prints it, and returns once the endpoint answers.
# "stop" kills the daemons by their PIDs with SIGKILL (a gently stopped
# memstore OSD would first write its objects to disk) and removes DIR.
# Virtual-host requests go to http://BUCKET.localhost:PORT (libcurl
# resolves *.localhost to the loopback itself); path-style ones to
# S3_ENDPOINT.  "restart-rgw" kills radosgw if it still runs and starts
# it again on the same port (for tests of an endpoint that goes away).
# Ports are chosen free at random, so clusters can run side by side.
# Exit status 2 means the Ceph packages are missing (regress/s3/deps.sh).
#
# CEPH_MEM_BYTES sets the memstore capacity (default 2 GiB); past it
# requests hang rather than fail, so keep test data well below it.

ACCESS_KEY=REGDREGRESSACCESSKEY
SECRET_KEY=regdRegressSecretKey0123456789abcdefghij
REGION=default
START_TIMEOUT=${CEPH_START_TIMEOUT:-120}

usage()
{
	echo "usage: ceph.sh start|stop|restart-rgw DIR" >&2
	exit 1
}

die()
{
	echo "ceph.sh: $*" >&2
	exit 1
}

have_ceph()
{
	local b

	for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
		command -v "$b" >/dev/null 2>&1 || return 1
	done
	return 0
}

port_free()
{
	[ -z "$(ss -Htan "sport = :$1" 2>/dev/null)" ]
}

# free_range N: the first of N consecutive free ports from 20000 up.
free_range()
{
	local n=$1 i p k ok

	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		ok=1
		for k in $(seq 0 $((n - 1))); do
			if ! port_free $((p + k)); then
				ok=0
				break
			fi
		done
		if [ "$ok" -eq 1 ]; then
			echo "$p"
			return 0
		fi
	done
	die "no $n free ports found"
}

# launch NAME cmd...: start a daemon in the foreground of a background job,
# its output in DIR/log/NAME.out, its pid appended to DIR/pids.
launch()
{
	local name=$1

	shift
	"$@" > "$DIR/log/$name.out" 2>&1 < /dev/null &
	echo "$! $name" >> "$DIR/pids"
}

# step WHAT: note the time since start in DIR/log/steps.
step()
{
	awk -v a="$T0" -v b="$(date +%s.%N)" -v w="$1" \
	    'BEGIN { printf "%5.1f s %s\n", b - a, w }' >> "$DIR/log/steps"
}

pid_of()
{
	awk -v n="$1" '$2 == n { print $1 }' "$DIR/pids"
}

alive()
{
	[ -n "$1" ] && [ -d "/proc/$1" ] &&
	    ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status" 2>/dev/null
}

# wait_for SECONDS DAEMON cmd...: poll cmd until it succeeds; give up when
# the time is out or DAEMON died.
wait_for()
{
	local n=$(($1 * 10)) name=$2 pid

	shift 2
	pid=$(pid_of "$name")
	while ! "$@" >/dev/null 2>&1; do
		if ! alive "$pid"; then
			tail -n 30 "$DIR/log/$name.out" "$DIR/log/"*"$name"*.log \
			    >&2 2>/dev/null
			die "$name exited during start"
		fi
		n=$((n - 1))
		[ "$n" -gt 0 ] || die "$name not ready in $1 s"
		sleep 0.1
	done
}

write_conf()
{
	cat > "$DIR/ceph.conf" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
ms bind port min = $OSD_PORT
ms bind port max = $((OSD_PORT + 19))
auth cluster required = none
auth service required = none
auth client required = none
mon warn on insecure global id reclaim allowed = false
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
pid file =
crash dir = $DIR/crash
log to stderr = false
err to stderr = true
mon cluster log file = $DIR/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon osd full ratio = .99
osd failsafe full ratio = .995
mon osd backfillfull ratio = .98
mon osd nearfull ratio = .97
mon data avail crit = 1
mon data avail warn = 2

[mon]
mon data = $DIR/mon
paxos propose interval = 0.05

[osd]
osd data = $DIR/osd
osd objectstore = memstore
memstore device bytes = ${CEPH_MEM_BYTES:-2147483648}
osd crush update on start = true

[client]
ms mon client mode = crc
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
rgw gc obj min wait = 30
rgw gc processor period = 15
rgw enable usage log = false
rgw dns name = localhost
EOF
}

# The rgw pools, made before radosgw starts: left to radosgw this takes
# 8-13 s and the first PUT is slow.  One ceph session for all commands.
make_pools()
{
	local p

	for p in .rgw.root default.rgw.control default.rgw.meta \
	    default.rgw.log default.rgw.buckets.index \
	    default.rgw.buckets.data default.rgw.buckets.non-ec; do
		echo "osd pool create $p 8 8"
		echo "osd pool application enable $p rgw"
	done | $CEPH > "$DIR/log/pools.out" 2>&1 ||
	    die "creating the rgw pools failed: $(tail -n 5 "$DIR/log/pools.out")"
}

endpoint_up()
{
	curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$RGW_PORT/"
}

osd_up()
{
	$CEPH osd dump 2>/dev/null | grep -q '^osd\.0 up'
}

start()
{
	local osd_uuid pools

	T0=$(date +%s.%N)
	mkdir -p "$DIR" || die "cannot create $DIR"
	[ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty"
	mkdir -p "$DIR/mon" "$DIR/osd" "$DIR/rgw" "$DIR/run" "$DIR/log" \
	    "$DIR/crash" || exit 1
	: > "$DIR/pids"
	OURS=1
	: > "$DIR/keyring"
	FSID=$(cat /proc/sys/kernel/random/uuid)
	osd_uuid=$(cat /proc/sys/kernel/random/uuid)
	# Neither the mon's port nor radosgw's may lie in the OSD's range.
	OSD_PORT=$(free_range 20)
	MON_PORT=$OSD_PORT
	while [ "$MON_PORT" -ge "$OSD_PORT" ] &&
	    [ "$MON_PORT" -lt $((OSD_PORT + 20)) ]; do
		MON_PORT=$(free_range 1)
	done
	RGW_PORT=$MON_PORT
	while [ "$RGW_PORT" = "$MON_PORT" ] || { [ "$RGW_PORT" -ge "$OSD_PORT" ] &&
	    [ "$RGW_PORT" -lt $((OSD_PORT + 20)) ]; }; do
		RGW_PORT=$(free_range 1)
	done
	write_conf
	CEPH="ceph -c $DIR/ceph.conf --connect-timeout 30"

	monmaptool --create --fsid "$FSID" \
	    --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" \
	    > "$DIR/log/monmap.out" 2>&1 || die "monmaptool failed"
	ceph-mon -c "$DIR/ceph.conf" -i a --mkfs --monmap "$DIR/monmap" \
	    > "$DIR/log/mkfs-mon.out" 2>&1 ||
	    die "ceph-mon --mkfs: $(tail -n 5 "$DIR/log/mkfs-mon.out")"
	step "mon mkfs done"
	launch mon.a ceph-mon -c "$DIR/ceph.conf" -i a -f
	wait_for 60 mon.a $CEPH mon stat

	step "mon answers"
	# The pools need only the mon: made while the OSD starts.
	make_pools &
	pools=$!
	$CEPH osd new "$osd_uuid" 0 > "$DIR/log/osd-new.out" 2>&1 ||
	    die "osd new: $(tail -n 5 "$DIR/log/osd-new.out")"
	ceph-osd -c "$DIR/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" \
	    > "$DIR/log/mkfs-osd.out" 2>&1 ||
	    die "ceph-osd --mkfs: $(tail -n 5 "$DIR/log/mkfs-osd.out")"
	# Debian's ceph-osd uses glibc malloc: without these, freed object
	# memory stays in its heap.
	launch osd.0 env MALLOC_MMAP_THRESHOLD_=1048576 MALLOC_ARENA_MAX=4 \
	    ceph-osd -c "$DIR/ceph.conf" -i 0 -f
	step "osd started"
	wait "$pools" || exit 1
	step "pools made"
	wait_for 60 osd.0 osd_up

	step "osd up"
	launch rgw radosgw -c "$DIR/ceph.conf" -n client.rgw.a -f
	wait_for "$START_TIMEOUT" rgw endpoint_up
	step "rgw answers"
	radosgw-admin -c "$DIR/ceph.conf" -n client.admin user create \
	    --uid=regress --display-name=regress \
	    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" \
	    > "$DIR/log/user.out" 2>&1 ||
	    die "radosgw-admin user create: $(tail -n 5 "$DIR/log/user.out")"

	step "user made"
	cat > "$DIR/env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
S3_REGION=$REGION
S3_PIDS="$(awk '{ printf "%s%s", sep, $1; sep = " " }' "$DIR/pids")"
S3_START_SECONDS=$(awk -v a="$T0" -v b="$(date +%s.%N)" \
    'BEGIN { printf "%.1f", b - a }')
EOF
	cat "$DIR/env"
}

kill_all()
{
	local pid name

	[ -f "$DIR/pids" ] || return 0
	while read -r pid name; do
		kill -KILL "$pid" 2>/dev/null
	done < "$DIR/pids"
	# Wait for them to be gone so DIR and the ports are free.
	while read -r pid name; do
		while alive "$pid"; do
			sleep 0.05
		done
	done < "$DIR/pids"
}

stop()
{
	[ -d "$DIR" ] || return 0
	# Only a directory of ours is removed.
	[ -f "$DIR/pids" ] ||
	    die "$DIR was not made by ceph.sh start: left alone"
	kill_all
	rm -rf "$DIR"
}

restart_rgw()
{
	local pid

	[ -f "$DIR/pids" ] && [ -f "$DIR/env" ] ||
	    die "$DIR was not made by ceph.sh start"
	pid=$(pid_of rgw)
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null
		while alive "$pid"; do
			sleep 0.05
		done
	fi
	RGW_PORT=$(sed -n 's/^S3_ENDPOINT=http:.*:\([0-9]*\)$/\1/p' "$DIR/env")
	[ -n "$RGW_PORT" ] || die "no port in $DIR/env"
	awk '$2 != "rgw"' "$DIR/pids" > "$DIR/pids.new" &&
	    mv "$DIR/pids.new" "$DIR/pids"
	launch rgw radosgw -c "$DIR/ceph.conf" -n client.rgw.a -f
	wait_for "$START_TIMEOUT" rgw endpoint_up
	sed -i "s/^S3_PIDS=.*/S3_PIDS=\"$(awk '{ printf "%s%s", sep, $1;
	    sep = " " }' "$DIR/pids")\"/" "$DIR/env"
}

[ $# -eq 2 ] || usage
DIR=$2
case $DIR in
/*)
	;;
*)
	DIR=$PWD/$DIR
	;;
esac
case $1 in
start)
	if ! have_ceph; then
		echo "ceph.sh: Ceph packages missing (sh regress/s3/deps.sh)" >&2
		exit 2
	fi
	# A failed start leaves nothing running.
	OURS=0
	trap 'rc=$?; [ $rc -eq 0 ] || [ $OURS -eq 0 ] || kill_all; exit $rc' EXIT
	start
	trap - EXIT
	;;
stop)
	stop
	;;
restart-rgw)
	restart_rgw
	;;
*)
	usage
	;;
esac
