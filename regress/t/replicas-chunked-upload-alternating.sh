# Two regd on one shared store ("storage shared yes"): a chunked upload
# whose PATCHes alternate between the instances (each PATCH sent
# straight to the other one, its Location rewritten), then the closing
# PUT on the other again; the blob is whole on both.  A GET of the
# session's status on the instance that did not take the last PATCH
# gives the right offset.  Also: a session started on one and idle there
# well past "upload timeout" (3 s; idle 7 s and more, beyond the whole
# second the timeout is counted in and the expiry timer's period) while
# the other goes on writing to it, about once a second, is not removed
# by the first.
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh

replica_start 1 "upload timeout 3s"
replica_start 2 "upload timeout 3s"

make_blob $((12 * 500000 - 4321)) "$T/blob"
d=$(sha "$T/blob")
split -b 500000 -d -a 2 "$T/blob" "$T/part."
# Which instance takes each PATCH: alternating, then instance 2 alone
# (a second apart) for longer than instance 1's "upload timeout", then
# instance 1 again.
order=(1 2 1 2 2 2 2 2 2 2 1 2)
nparts=$(ls "$T"/part.* | wc -l)

URL=${RURL[1]}
upload_start lib/alt
path=${LOC#http://127.0.0.1:*/}
i=0
off=0
for p in "$T"/part.*; do
	n=${order[$i]}
	[ $i -ge 3 ] && [ $i -le 9 ] && sleep 1
	# The other instance answers the status: where the last PATCH ended.
	if [ $i -gt 0 ]; then
		http GET "${RURL[$n]}/$path"
		check_eq "$STATUS" 204 "status of the session on instance $n before PATCH $i"
		check_eq "$(hdr Range)" "0-$((off - 1))" "Range on instance $n"
	fi
	size=$(stat -c %s "$p")
	http PATCH "${RURL[$n]}/$path" \
	    -H 'Content-Type: application/octet-stream' \
	    -H "Content-Range: $off-$((off + size - 1))" --data-binary "@$p"
	check_eq "$STATUS" 202 "PATCH $i on instance $n: $(head -c 300 "$BODY")"
	off=$((off + size))
	loc=$(hdr Location)
	path=${loc#http://127.0.0.1:*/}
	path=${path#/}
	i=$((i + 1))
done
n=2
http PUT "$(add_query "${RURL[$n]}/$path" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "closing PUT on instance $n: $(head -c 300 "$BODY")"
for n in 1 2; do
	http GET "${RURL[$n]}/v2/lib/alt/blobs/$d"
	check_eq "$STATUS" 200 "GET of the blob on instance $n"
	cmp -s "$BODY" "$T/blob" || fail "blob differs on instance $n"
done
# Each instance took some of the PATCHes.
for n in 1 2; do
	c=$(replicas_logged $n '"PATCH /v2/lib/alt/blobs/uploads/')
	[ "$c" -ge 2 ] || fail "instance $n logged $c PATCHes"
done
note "$nparts PATCHes alternating over two instances, PUT on the other: blob whole on both"
exit 0
