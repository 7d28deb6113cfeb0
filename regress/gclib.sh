# regress/gclib.sh: what the online GC tests share, sourced after
# regress/lib.sh.  Clients push images of REPO in the background, their
# layers drawn from a pool, while gc runs; then what is still tagged
# must pull back whole.
#
#   gc_pool N			pool layers $T/pool/0 .. N-1
#   gc_image DIR C I A B	image I of client C in DIR: its own config
#				and layer, pool layers A and B (pa, pb)
#				and the OCI manifest naming them
#   gc_clients N FUNC		FUNC C in the background for C in 1..N,
#				its output in $T/client.C.log
#   gc_clients_wait		each of them must succeed
#   gc_more I			whether a client that pushed I images
#				pushes another: until GC_IMAGES, then
#				until gc_during says enough (at most
#				GC_IMAGES_MAX, against a hang)
#   gc_during CMD...		CMD (a gc) again and again, GC_PAUSE
#				(0.3 s) apart, until every client ended;
#				RUNS: how many, DURING: how many ended
#				while every client still pushed, SWEPT_DURING
#				the blobs those swept; enough once DURING
#				>= GC_RUNS and SWEPT_DURING > 0
#   gc_totals			SWEPT: the blobs gc removed ($T/gc.out);
#				PUSHED: the images ($T/cC.count)
#   gc_kept FUNC		FUNC DIR C I for each image not deleted
#				($T/cC/I); CHECKED is how many
#   gc_pull_back URL DIR TAG...	the manifest by each TAG and the blobs
#				of DIR pull back from URL byte for byte

mtype=application/vnd.oci.image.manifest.v1+json

gc_pool()
{
	local p

	mkdir -p "$T/pool"
	for p in $(seq 0 $(($1 - 1))); do
		make_blob $((2000 + p * 100)) "$T/pool/$p"
	done
}

# gc_desc FILE: an OCI layer descriptor of FILE.
gc_desc()
{
	jq -cn --arg d "$(sha "$1")" --argjson s "$(stat -c %s "$1")" \
	    '{ mediaType: "application/vnd.oci.image.layer.v1.tar",
	    digest: $d, size: $s }'
}

gc_image()
{
	local d=$1

	mkdir -p "$d"
	printf '{"os":"linux","client":%d,"n":%d}' "$2" "$3" > "$d/config"
	make_blob $((100 + RANDOM % 500)) "$d/own"
	cp "$T/pool/$4" "$d/pa"
	cp "$T/pool/$5" "$d/pb"
	jq -cn --arg c "$(sha "$d/config")" \
	    --argjson cs "$(stat -c %s "$d/config")" \
	    --argjson l1 "$(gc_desc "$d/own")" \
	    --argjson l2 "$(gc_desc "$d/pa")" \
	    --argjson l3 "$(gc_desc "$d/pb")" --arg mt "$mtype" \
	    '{ schemaVersion: 2, mediaType: $mt,
	    config: { mediaType: "application/vnd.oci.image.config.v1+json",
		digest: $c, size: $cs },
	    layers: [ $l1, $l2, $l3 ] }' > "$d/manifest"
}

GC_PIDS=()

gc_clients()
{
	local c

	for c in $(seq 1 "$1"); do
		"$2" "$c" > "$T/client.$c.log" 2>&1 &
		GC_PIDS[$c]=$!
	done
}

gc_clients_wait()
{
	local c

	for c in "${!GC_PIDS[@]}"; do
		wait "${GC_PIDS[$c]}" ||
		    fail "client $c failed: $(tail -5 "$T/client.$c.log")"
	done
}

# gc_swept FILE: the blobs the gc runs whose output FILE holds removed
# (not their markers of use).
gc_swept()
{
	awk '$1 == "removed" && $3 == "blobs," { s += $2 } END { print s + 0 }' \
	    "$1"
}

# gc_ended: how many clients ended (their count written, or gone).
gc_ended()
{
	local c n=0

	for c in "${!GC_PIDS[@]}"; do
		if [ -e "$T/c$c.count" ] || ! kill -0 "${GC_PIDS[$c]}" \
		    2>/dev/null; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

gc_more()
{
	[ "$1" -lt "$GC_IMAGES" ] && return 0
	[ -e "$T/gc.enough" ] && return 1
	[ "$1" -lt "$GC_IMAGES_MAX" ]
}

gc_during()
{
	RUNS=0
	DURING=0
	SWEPT_DURING=0
	while [ "$(gc_ended)" -lt "${#GC_PIDS[@]}" ]; do
		"$@" > "$T/gc.last" 2>&1 ||
		    fail "$*: $(tail -3 "$T/gc.last")"
		cat "$T/gc.last" >> "$T/gc.out"
		RUNS=$((RUNS + 1))
		if [ "$(gc_ended)" -eq 0 ]; then
			DURING=$((DURING + 1))
			SWEPT_DURING=$((SWEPT_DURING + $(gc_swept "$T/gc.last")))
		fi
		if [ "$DURING" -ge "$GC_RUNS" ] && [ "$SWEPT_DURING" -gt 0 ]; then
			touch "$T/gc.enough"
		fi
		sleep "${GC_PAUSE:-0.3}"
	done
}

gc_totals()
{
	SWEPT=$(gc_swept "$T/gc.out")
	PUSHED=$(cat "$T"/c?.count | awk '{ s += $1 } END { print s }')
}

gc_kept()
{
	local d c i

	CHECKED=0
	for d in "$T"/c?/*; do
		[ -f "$d/manifest" ] || continue
		[ -e "$d/deleted" ] && continue
		c=${d#$T/c}
		c=${c%%/*}
		i=${d##*/}
		"$1" "$d" "$c" "$i"
		CHECKED=$((CHECKED + 1))
	done
}

gc_pull_back()
{
	local url=$1 d=$2 tag f

	shift 2
	for tag in "$@"; do
		http GET "$url/v2/$REPO/manifests/$tag" -H "Accept: $mtype"
		check_eq "$STATUS" 200 "manifest $tag from $url"
		cmp -s "$BODY" "$d/manifest" || fail "manifest $tag differs"
	done
	for f in config own pa pb; do
		http GET "$url/v2/$REPO/blobs/$(sha "$d/$f")"
		check_eq "$STATUS" 200 "blob $f of $tag from $url"
		cmp -s "$BODY" "$d/$f" || fail "blob $f of $tag differs"
	done
}
