# Two regd on one shared store with "max uploads 3": the cap on open
# upload sessions is each instance's own.  Three sessions begun on
# instance 1 and left open fill its cap (a fourth is refused with 429)
# while instance 2 still opens sessions.  Sessions begun on instance 1
# and finished on instance 2 (as a load balancer sends them) do not
# count against instance 1 for ever: once they are gone from the store,
# instance 1 admits new ones.
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh

replica_start 1 "max uploads 3"
replica_start 2 "max uploads 3"

post()
{
	http POST "${RURL[$1]}/v2/lib/caps/blobs/uploads/" -H 'Content-Length: 0'
	LOC=$(hdr Location)
}

# Three sessions begun on 1, each finished on 2.
for i in 1 2 3 4 5; do
	post 1
	check_eq "$STATUS" 202 "POST $i on instance 1: $(head -c 200 "$BODY")"
	make_blob 1000 "$T/b$i"
	http PUT "$(add_query "${RURL[2]}$LOC" "digest=$(sha "$T/b$i")")" \
	    -H 'Content-Type: application/octet-stream' --data-binary "@$T/b$i"
	check_eq "$STATUS" 201 "PUT $i on instance 2"
done

# Three left open on 1: its cap is full, not instance 2's.
for i in 1 2 3; do
	post 1
	check_eq "$STATUS" 202 "open session $i on instance 1"
done
post 1
check_eq "$STATUS" 429 "a fourth open session on instance 1"
post 2
check_eq "$STATUS" 202 "a session on instance 2 while instance 1 is full"
exit 0
