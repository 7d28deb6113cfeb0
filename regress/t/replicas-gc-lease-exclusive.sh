# Two regd on one shared store: a gc lease held by another run (fresh)
# makes "regctl gc" refuse on either instance and leaves the lease
# alone; one not written for more than 30 s is taken over, the run
# sweeps, and the lease is gone after it.  A real run's lease is seen by
# the other instance while it lasts (written by the filesystem backend
# at docker/registry/v2/_regd/gc.lease).
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh

[ "${REGD_BACKEND:-fs}" = fs ] || skip "writes the lease file itself"
replica_start 1 "gc grace 0"
replica_start 2 "gc grace 0"
lease=$T/storage/docker/registry/v2/_regd/gc.lease

# Garbage: a blob no manifest references.
URL=${RURL[2]}
make_blob 3000 "$T/garbage"
push_blob lib/lease "$T/garbage"
g=$(sha "$T/garbage")

mkdir -p "${lease%/*}"
printf 'regd-gc 0123456789abcdef0123456789abcdef mark 4242\n' > "$lease"
[ "$REGD_ROOT" -eq 1 ] && chown -R _regd "$T/storage"
for n in 1 2; do
	out=$($REGCTL_BIN -s "$T/r$n/regd.sock" gc 2>&1) &&
	    fail "gc on instance $n ran under another's lease: $out"
	echo "$out" | grep -q 'gc is running on another instance' ||
	    fail "gc on instance $n: $out"
done
grep -q 0123456789abcdef "$lease" || fail "the held lease was touched"
http HEAD "${RURL[1]}/v2/lib/lease/blobs/$g"
check_eq "$STATUS" 200 "nothing swept under another's lease"

# Expired: taken over.
touch -d '-40 seconds' "$lease"
out=$($REGCTL_BIN -s "$T/r1/regd.sock" gc 2>&1) ||
    fail "gc over an expired lease: $out"
echo "$out" | grep -q "^blob $g " || fail "garbage not swept: $out"
[ -e "$lease" ] && fail "lease left after the run: $(cat "$lease")"
http HEAD "${RURL[2]}/v2/lib/lease/blobs/$g"
check_eq "$STATUS" 404 "garbage gone on instance 2"
exit 0
