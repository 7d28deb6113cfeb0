# regress: long 40
# Two regd on one shared store: online gc runs back to back on instance 1
# while 3 clients push images through instance 2 (6 each, then on until
# gc ran 10 times while all pushed and swept meanwhile: a count of
# events, not of seconds, so a slow machine takes longer and proves the
# same; REPLICAS_GC_IMAGES sets the 6), each checking the
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

# On S3 a push takes seconds: s3-replicas-gc sets a grace longer than that.
# On a loaded 2-core machine a push of 4 blobs and a manifest took more
# than 2 s, and gc rightly swept its first blob each of 5 tries: 5 s.
GRACE=${REPLICAS_GC_GRACE:-5}
GC_IMAGES=${REPLICAS_GC_IMAGES:-6}
GC_IMAGES_MAX=100
GC_RUNS=10
GC_PAUSE=0.2
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
	local c=$1 i=0 d prev= a b

	BODY=$T/body.$c
	HDRS=$T/hdrs.$c
	URL=${RURL[2]}
	while gc_more "$i"; do
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

# gc on instance 1, its run time (a figure, not a bound) in gc.ms.
gc_timed()
{
	local t0=$(date +%s%3N) rc

	$REGCTL1 gc
	rc=$?
	echo $(( $(date +%s%3N) - t0 )) >> "$T/gc.ms"
	return $rc
}

gc_clients 3 client
gc_during gc_timed
gc_clients_wait
gc_totals
retries=$(cat "$T/retries" 2>/dev/null | wc -l)
note "$PUSHED images pushed through instance 2, $RUNS gc runs on instance 1 ($DURING while all pushed, sweeping $SWEPT_DURING blobs), $SWEPT blobs swept, $retries manifest PUTs refused and pushed again"
note "gc run time (regctl gc, ms): $(sort -n "$T/gc.ms" | awk '{ v[NR] = $1 } END { printf "min %d median %d max %d", v[1], v[int((NR + 1) / 2)], v[NR] }')"
[ "$DURING" -ge "$GC_RUNS" ] ||
    fail "only $DURING gc runs while all 3 clients pushed ($PUSHED images)"
[ "$SWEPT_DURING" -gt 0 ] ||
    fail "no blob swept while the clients pushed ($PUSHED images)"
[ "$PUSHED" -ge $((3 * GC_IMAGES)) ] || fail "only $PUSHED images pushed"

on_both()
{
	gc_pull_back "${RURL[1]}" "$1" "c$2-$3"
	gc_pull_back "${RURL[2]}" "$1" "c$2-$3"
}
gc_kept on_both
[ "$CHECKED" -ge 3 ] || fail "only $CHECKED images left to check"
note "$(wc -l < "$T/checked") images checked whole before their delete, the last $CHECKED pulled back byte for byte from both instances"
exit 0
