# regress: long 30
# Two regd on one shared store with a quota of 100K on a repository: the
# running totals of bytes used are per instance, so each counts them
# again when older than 30 s (regd(8), Shared storage).  Instance 2 counts the
# store, instance 1 then fills most of it; within 30 s plus a push,
# instance 2 refuses what would go over the quota, though its own
# pushes never filled it.  Prints how long instance 2 took to see it.
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh

replica_start 1 'quota 100K on "lib/*"'
replica_start 2 'quota 100K on "lib/*"'

# Instance 2 counts the repository now: its total starts here.
URL=${RURL[2]}
make_blob 1000 "$T/small"
push_blob lib/q "$T/small"
t0=$SECONDS

URL=${RURL[1]}
make_blob 70000 "$T/big"
push_blob lib/q "$T/big"

# Instance 2, pushing 40 KB blobs (each new): refused once it recounts.
URL=${RURL[2]}
i=0
while :; do
	make_blob 40000 "$T/b$i"
	http POST "$URL/v2/lib/q/blobs/uploads/?digest=$(sha "$T/b$i")" \
	    -H 'Content-Type: application/octet-stream' --data-binary "@$T/b$i"
	[ "$STATUS" = 403 ] && break
	check_eq "$STATUS" 201 "push $i on instance 2"
	# Accepted while the old total holds: unlinked again (a DELETE).
	http DELETE "$URL/v2/lib/q/blobs/$(sha "$T/b$i")"
	[ "$STATUS" = 202 ] || fail "DELETE $i: $STATUS"
	[ $((SECONDS - t0)) -le 40 ] ||
	    fail "instance 2 never saw instance 1's bytes"
	i=$((i + 1))
	sleep 2
done
check_eq "$(json_get '.errors[0].code')" DENIED "refusal's error code"
note "instance 2 refused after $((SECONDS - t0)) s ($i pushes accepted before, bound 30 s)"
exit 0
