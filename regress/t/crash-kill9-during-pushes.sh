#!/bin/bash
# regress: long 45
# kill -9 of the storage process, and of the whole process tree, at random
# moments while four clients push blobs (curl, monolithic POST and
# POST + PATCH chunks + PUT).  regd is restarted after each kill.  In the
# end every upload that was answered 201 pulls back byte-identical, every
# blob file under blobs/ hashes to the digest its path names, and every
# link names a digest whose blob exists: nothing half-written is visible
# under a digest.  regctl fsck, run last, must agree.
. regress/lib.sh

KILLS=${CRASH_KILLS:-8}
NWORKERS=4
REPO=crash/app

regd_start
mkdir -p "$T/w"

# worker N: push blobs until $T/stop exists; "digest file" lines of the
# acknowledged ones go to $T/acked.N, the status of the others to
# $T/failed.N.
worker()
{
	local w=$1 i=0 f d size code loc off part n

	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		f=$T/w/$w.$i
		size=$(( (RANDOM * 32768 + RANDOM) % 700000 + 1 ))
		head -c "$size" /dev/urandom > "$f"
		d=$(sha "$f")
		if [ $((i % 2)) -eq 0 ]; then
			code=$(curl -s -o /dev/null -w '%{http_code}' \
			    --max-time 20 -X POST \
			    -H 'Content-Type: application/octet-stream' \
			    --data-binary "@$f" \
			    "$URL/v2/$REPO$w/blobs/uploads/?digest=$d")
		else
			code=$(chunked "$w" "$f" "$d" "$size")
		fi
		if [ "$code" = 201 ]; then
			echo "$d $f" >> "$T/acked.$w"
		else
			echo "$code" >> "$T/failed.$w"
			rm -f "$f"
			sleep 0.05
		fi
	done
}

# chunked W FILE DIGEST SIZE: prints the status of the closing PUT, or of
# the first step that failed.
chunked()
{
	local w=$1 f=$2 d=$3 size=$4 loc hdrs off len code

	hdrs=$T/w/hdrs.$w
	code=$(curl -s -o /dev/null -D "$hdrs" -w '%{http_code}' \
	    --max-time 20 -X POST -H 'Content-Length: 0' \
	    "$URL/v2/$REPO$w/blobs/uploads/")
	if [ "$code" != 202 ]; then
		echo "$code"
		return
	fi
	loc=$(tr -d '\r' < "$hdrs" | awk 'tolower($1) == "location:" { print $2 }')
	loc=$(loc_url "$loc")
	off=0
	while [ "$off" -lt "$size" ]; do
		len=$((size - off))
		[ "$len" -gt 250000 ] && len=250000
		tail -c +$((off + 1)) "$f" | head -c "$len" > "$f.part"
		code=$(curl -s -o /dev/null -D "$hdrs" -w '%{http_code}' \
		    --max-time 20 -X PATCH \
		    -H 'Content-Type: application/octet-stream' \
		    -H "Content-Range: $off-$((off + len - 1))" \
		    --data-binary "@$f.part" "$loc")
		rm -f "$f.part"
		if [ "$code" != 202 ]; then
			echo "$code"
			return
		fi
		loc=$(tr -d '\r' < "$hdrs" | awk 'tolower($1) == "location:" { print $2 }')
		loc=$(loc_url "$loc")
		off=$((off + len))
	done
	curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X PUT \
	    -H 'Content-Length: 0' "$(add_query "$loc" "digest=$d")"
}

WORKERS=
crash_cleanup()
{
	local rc=$?

	touch "$T/stop"
	if [ -n "$WORKERS" ]; then
		kill $WORKERS 2>/dev/null
		wait $WORKERS 2>/dev/null
	fi
	(exit "$rc")
	regd_cleanup
}
trap crash_cleanup EXIT

for w in $(seq 1 $NWORKERS); do
	worker "$w" &
	WORKERS="$WORKERS $!"
done

kill_storage=0
kill_tree=0
for k in $(seq 1 "$KILLS"); do
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.4 + r / 32768 * 1.6 }')"
	pids=$(procs_of "$REGD_PID" | awk '{ print $1 }')
	if [ $((k % 2)) -eq 1 ]; then
		p=$(pids_titled storage)
		[ -n "$p" ] || fail "no storage process to kill"
		kill -KILL $p
		kill_storage=$((kill_storage + 1))
		what="storage $p"
	else
		kill -KILL $pids
		kill_tree=$((kill_tree + 1))
		what="the whole tree"
	fi
	regd_wait_gone 10 $pids || fail "regd processes left after killing $what"
	wait "$REGD_PID"
	rc=$?
	[ "$rc" -ne 0 ] || fail "regd exited 0 after losing $what"
	REGD_PID=
	acked=$(cat "$T"/acked.* 2>/dev/null | wc -l)
	note "kill $k: $what (regd exit $rc), $acked acknowledged so far"
	regd_launch
done
sleep 1
touch "$T/stop"
wait $WORKERS 2>/dev/null
WORKERS=

# A clean stop and a fresh start: what is on disk is all there is.
regd_stop
regd_launch

cat "$T"/acked.* > "$T/acked" 2>/dev/null
nacked=$(wc -l < "$T/acked")
nfailed=$(cat "$T"/failed.* 2>/dev/null | wc -l)
[ "$nacked" -ge 10 ] || fail "only $nacked uploads acknowledged"

lost=0
while read -r d f; do
	w=${f##*/}
	w=${w%%.*}
	http GET "$URL/v2/$REPO$w/blobs/$d"
	if [ "$STATUS" != 200 ] || ! cmp -s "$BODY" "$f"; then
		echo "lost: $d of $REPO$w: status $STATUS" >&2
		lost=$((lost + 1))
	fi
done < "$T/acked"

# Walk the tree as fsck would.
v2=$T/storage/docker/registry/v2
bad=0
nblobs=0
tmps=0
while read -r f; do
	case ${f##*/} in
	data)
		nblobs=$((nblobs + 1))
		hex=${f%/data}
		hex=${hex##*/}
		got=$(sha256sum < "$f" | cut -d' ' -f1)
		if [ "$got" != "$hex" ]; then
			echo "torn blob: $f hashes to $got" >&2
			bad=$((bad + 1))
		fi
		;;
	*)
		# A temporary file of an interrupted write: not under a
		# digest, nothing serves it.
		tmps=$((tmps + 1))
		;;
	esac
done < <(find "$v2/blobs" -type f)

nlinks=0
while read -r l; do
	nlinks=$((nlinks + 1))
	d=$(cat "$l")
	if ! printf '%s' "$d" | grep -Eq '^sha256:[0-9a-f]{64}$'; then
		echo "bad link: $l holds '$d'" >&2
		bad=$((bad + 1))
		continue
	fi
	hex=${d#sha256:}
	case $l in
	*/_layers/sha256/*/link | */_manifests/revisions/sha256/*/link)
		dir=${l%/link}
		if [ "${dir##*/}" != "$hex" ]; then
			echo "link $l names $d" >&2
			bad=$((bad + 1))
		fi
		;;
	esac
	if [ ! -f "$v2/blobs/sha256/${hex:0:2}/$hex/data" ]; then
		echo "dangling link: $l -> $d" >&2
		bad=$((bad + 1))
	fi
done < <(find "$v2/repositories" -name link -type f)

# regd's own fsck agrees.
if ! $REGCTL fsck > "$T/fsck" 2>&1; then
	cat "$T/fsck" >&2
	fail "regctl fsck found problems after the kills"
fi
note "$(tail -n 1 "$T/fsck")"

note "kills: $kill_storage of storage, $kill_tree of the whole tree"
note "uploads: $nacked acknowledged, $nfailed cut off or refused"
note "on disk: $nblobs blobs, $nlinks links, $tmps temporary files left"
note "acknowledged uploads lost or changed: $lost; torn files or links: $bad"
check_eq "$lost" 0 "acknowledged uploads lost"
check_eq "$bad" 0 "torn blobs or bad links"
exit 0
