# Two regd on one shared store: online gc runs back to back on instance 1
# for 30 s (the issue asks for a minute; 30 s keeps make test short)
# while 3 clients push images through instance 2, each checking the
# image before whole on instance 1 and then deleting it; the layers of
# each client's images are drawn from its own small pool, so a pool
# layer is garbage at times, old enough to sweep, and then pushed and
# referenced again.
# Instance 1's write barrier sees none of instance 2's pushes: the lease,
# the sweep phase and the writers' wait (regd(8), Housekeeping)
# must keep every acknowledged image whole.  A manifest PUT that lost
# the race is refused (MANIFEST_BLOB_UNKNOWN) and pushed again, as a
# client does.  Afterwards every image still tagged pulls back byte for
# byte from both instances, and gc really swept meanwhile.  Prints the
# gc run times.
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh
. regress/gclib.sh

# On S3 a push takes seconds: s3-replicas sets a grace longer than that.
GRACE=${REPLICAS_GC_GRACE:-2}
SECS=${REPLICAS_GC_SECS:-30}
replica_start 1 "gc grace $GRACE"
replica_start 2 "gc grace $GRACE"
REGCTL1="$REGCTL_BIN -s $T/r1/regd.sock"
REPO=gc/replicas

# A slower mark phase, a wider window for the race this test looks for:
# 400 more repositories, each holding one small image (written straight
# into the filesystem layout; skipped for other backends).
if [ "${REGD_BACKEND:-fs}" = fs ]; then
	v2=$T/storage/docker/registry/v2
	printf '{"os":"linux"}' > "$T/seedcfg"
	sc=$(sha "$T/seedcfg")
	jq -cn --arg c "$sc" --arg mt "$mtype" '{ schemaVersion: 2,
	    mediaType: $mt, config: { mediaType:
	    "application/vnd.oci.image.config.v1+json", digest: $c, size: 14 },
	    layers: [] }' > "$T/seedman"
	sm=$(sha "$T/seedman")
	for f in seedcfg seedman; do
		h=$(sha "$T/$f" | cut -c8-)
		mkdir -p "$v2/blobs/sha256/${h:0:2}/$h"
		cp "$T/$f" "$v2/blobs/sha256/${h:0:2}/$h/data"
	done
	for r in $(seq 1 400); do
		l=$v2/repositories/seed/r$r/_manifests/revisions/sha256/${sm#sha256:}
		mkdir -p "$l"
		printf '%s' "$sm" > "$l/link"
	done
	[ "$REGD_ROOT" -eq 1 ] && chown -R _regd "$T/storage"
fi

gc_pool 24

# put_image DIR TAG: blobs then manifest, again while the manifest is
# refused for a blob gc took meanwhile; the number of retries is counted.
put_image()
{
	local try f

	for try in 1 2 3 4 5; do
		for f in config own pa pb; do
			push_blob "$REPO" "$1/$f"
		done
		http PUT "$URL/v2/$REPO/manifests/$2" -H "Content-Type: $mtype" \
		    --data-binary "@$1/manifest"
		[ "$STATUS" = 201 ] && return 0
		grep -q MANIFEST_BLOB_UNKNOWN "$BODY" ||
		    fail "PUT $2: $STATUS: $(head -c 300 "$BODY")"
		echo retry >> "$T/retries"
	done
	fail "PUT $2: refused 5 times"
}

# check_image DIR URL: the image's manifest and blobs are all there.
check_image()
{
	local f

	http GET "$2/v2/$REPO/manifests/$(sha "$1/manifest")" \
	    -H "Accept: $mtype"
	check_eq "$STATUS" 200 "manifest of $1 on $2"
	for f in config own pa pb; do
		http HEAD "$2/v2/$REPO/blobs/$(sha "$1/$f")"
		check_eq "$STATUS" 200 "blob $f of acknowledged image $1 on $2"
	done
	echo checked >> "$T/checked"
}

client()
{
	local c=$1 i=0 d prev= a b end=$((SECONDS + SECS))

	BODY=$T/body.$c
	HDRS=$T/hdrs.$c
	URL=${RURL[2]}
	while [ "$SECONDS" -lt "$end" ]; do
		i=$((i + 1))
		d=$T/c$c/$i
		a=$((c * 6 + RANDOM % 6))
		b=$((c * 6 + (a - c * 6 + 1 + RANDOM % 5) % 6))
		gc_image "$d" "$c" "$i" "$a" "$b"
		# The image before, whole on instance 1 after gc ran (nothing
		# of this client touched it since), then deleted: its pool
		# layers may become garbage.
		if [ -n "$prev" ]; then
			sleep 0.5
			check_image "$prev" "${RURL[1]}"
			http DELETE "$URL/v2/$REPO/manifests/$(sha "$prev/manifest")"
			[ "$STATUS" = 202 ] || fail "client $c: DELETE: $STATUS"
			touch "$prev/deleted"
		fi
		put_image "$d" "c$c-$i"
		prev=$d
		# Now and then a pause: pool layers age past the grace.
		[ $((i % 4)) -eq 0 ] && sleep $((GRACE + 1))
	done
	echo "$i" > "$T/c$c.count"
}

gc_clients 3 client
runs=0
end=$((SECONDS + SECS))
while [ "$SECONDS" -lt "$end" ]; do
	t0=$(date +%s%3N)
	$REGCTL1 gc >> "$T/gc.out" 2>&1 || fail "regctl gc: $(tail -3 "$T/gc.out")"
	echo $(( $(date +%s%3N) - t0 )) >> "$T/gc.ms"
	runs=$((runs + 1))
	sleep 0.2
done
gc_clients_wait
gc_totals
retries=$(cat "$T/retries" 2>/dev/null | wc -l)
note "$PUSHED images pushed through instance 2, $runs gc runs on instance 1, $SWEPT blobs swept, $retries manifest PUTs refused and pushed again"
note "gc run time (regctl gc, ms): $(sort -n "$T/gc.ms" | awk '{ v[NR] = $1 } END { printf "min %d median %d max %d", v[1], v[int((NR + 1) / 2)], v[NR] }')"
[ "$runs" -ge 10 ] || fail "only $runs gc runs in $SECS s"
# Enough pushes to overlap many gc runs: each S3 push is a dozen
# round trips to radosgw, so fewer fit in the time there.
least=15
[ "${REGD_BACKEND:-fs}" = s3 ] && least=9
[ "$PUSHED" -ge "$least" ] || fail "only $PUSHED images pushed in $SECS s"
[ "$SWEPT" -gt 0 ] || fail "gc never swept anything"

on_both()
{
	gc_pull_back "${RURL[1]}" "$1" "c$2-$3"
	gc_pull_back "${RURL[2]}" "$1" "c$2-$3"
}
gc_kept on_both
[ "$CHECKED" -ge 3 ] || fail "only $CHECKED images left to check"
note "$(wc -l < "$T/checked") images checked whole before their delete, the last $CHECKED pulled back byte for byte from both instances"
exit 0
