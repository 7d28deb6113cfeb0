#!/bin/bash
#
# Two regd on one shared store: "regctl fsck -r" and "regctl rm" take
# the maintenance lease GC takes (regd(8), Housekeeping).  While another
# instance holds it (a lease the test writes, fresh, as a GC on host
# "elsewhere" would), both refuse on either instance, naming the holder
# and when its lease ends, and change nothing; "fsck" without -r still
# runs, and "gc" names an fsck -r that holds it.  Once the lease is gone
# they run and leave no lease behind.  On the filesystem ("storage
# shared yes") and, through s3-replicas-gc, on S3.
. regress/lib.sh
. regress/replicas.sh

replica_start 1
replica_start 2
REGCTL1="$REGCTL_BIN -s $T/r1/regd.sock"
REGCTL2="$REGCTL_BIN -s $T/r2/regd.sock"
URL=${RURL[1]}
push_image lib/keep v1

S3REQ=${S3REQ:-./regress/s3/s3req}
lease=docker/registry/v2/_regd/gc.lease
lease_put()	# lease_put PHASE: a fresh lease of host "elsewhere"
{
	printf 'regd-gc 0123456789abcdef0123456789abcdef %s 4242 elsewhere\n' \
	    "$1" > "$T/lease"
	if [ "${REGD_BACKEND:-fs}" = s3 ]; then
		check_eq "$("$S3REQ" PUT "/$S3_BUCKET${S3_ROOT:-/regress/${T##*/}}/$lease" \
		    "$T/lease" -- -s -o /dev/null -w '%{http_code}')" 200 \
		    "lease written"
	else
		mkdir -p "$T/storage/${lease%/*}"
		cp "$T/lease" "$T/storage/$lease"
		[ "$REGD_ROOT" -eq 1 ] && chown -R _regd "$T/storage"
	fi
}
# lease_now: LEASE, the lease's bytes ("(empty)" for an empty one), or
# nothing when there is none; an S3 answer other than 200 or 404 fails.
# No command runs before the read: it comes as soon after the command
# before as it can.
lease_now()
{
	local st there=0

	if [ "${REGD_BACKEND:-fs}" = s3 ]; then
		st=$(curl -s -o "$T/lease.got" -w '%{http_code}' "$LEASE_URL")
		case $st in
		200)	there=1 ;;
		404)	;;
		*)	fail "GET the lease: status '$st'" ;;
		esac
	elif [ -e "$T/storage/$lease" ]; then
		cp "$T/storage/$lease" "$T/lease.got" || fail "read the lease"
		there=1
	fi
	LEASE=
	[ "$there" -eq 1 ] && LEASE=$(cat "$T/lease.got")
	[ "$there" -eq 1 ] && [ -z "$LEASE" ] && LEASE="(empty)"
	return 0
}
# Presigned once: a plain curl then reads it.
if [ "${REGD_BACKEND:-fs}" = s3 ]; then
	LEASE_URL=$("$S3REQ" -p 600 GET \
	    "/$S3_BUCKET${S3_ROOT:-/regress/${T##*/}}/$lease") ||
	    fail "presign the lease's URL"
fi
lease_del()
{
	if [ "${REGD_BACKEND:-fs}" = s3 ]; then
		"$S3REQ" DELETE "/$S3_BUCKET${S3_ROOT:-/regress/${T##*/}}/$lease" \
		    -- -s -o /dev/null
	else
		rm -f "$T/storage/$lease"
	fi
}

lease_put mark
now=$(date +%s)
for n in 1 2; do
	for cmd in "fsck -r" "rm lib/keep"; do
		out=$($REGCTL_BIN -s "$T/r$n/regd.sock" $cmd 2>&1) &&
		    fail "$cmd on instance $n ran under another's lease: $out"
		echo "$out" | grep -q "^error: no ${cmd%% *}[ -r]*: gc is running on another instance (host elsewhere, pid 4242, phase mark), which holds the maintenance lease until " ||
		    fail "$cmd on instance $n: $out"
	done
done
note "$out"
# Until: the lease's last write and 30 s.
until=$(echo "$out" | sed -n 's/.* until \([0-9TZ:-]*\) .*/\1/p')
until=$(date -d "$until" +%s) || fail "no time in: $out"
[ "$until" -ge $((now + 20)) ] && [ "$until" -le $((now + 40)) ] ||
    fail "lease until $until, now $now"
lease_now
check_match "$LEASE" '^regd-gc 0123456789abcdef' "the held lease"
for n in 1 2; do
	http GET "${RURL[$n]}/v2/lib/keep/manifests/v1" \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	check_eq "$STATUS" 200 "v1 on instance $n under the lease"
done
out=$($REGCTL2 fsck 2>&1) || fail "fsck without -r under a lease: $out"

# Held by an fsck -r elsewhere: gc says so.
lease_put fsck
out=$($REGCTL2 gc 2>&1) && fail "gc ran under an fsck's lease: $out"
echo "$out" | grep -q '^error: no gc: fsck -r is running on another instance (host elsewhere, pid 4242, phase fsck)' ||
    fail "gc under an fsck's lease: $out"

# Gone: they run, and take the lease only while they do: it is released
# before the command returns (a few times, on either instance: the
# release was once answered before it was done).
lease_del
lease_now
check_eq "$LEASE" "" "the lease after its delete"
for n in 1 2 1 2; do
	out=$($REGCTL_BIN -s "$T/r$n/regd.sock" fsck -r 2>&1) ||
	    fail "fsck -r on instance $n without a lease: $out"
	lease_now
	check_eq "$LEASE" "" "the lease fsck -r on instance $n left"
done
out=$($REGCTL1 rm lib/keep 2>&1) || fail "rm without a lease: $out"
lease_now
check_eq "$LEASE" "" "the lease rm left"
http GET "${RURL[1]}/v2/lib/keep/manifests/v1" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
check_eq "$STATUS" 404 "v1 after rm"
exit 0
