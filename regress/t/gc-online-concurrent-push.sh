#!/bin/bash
# regress: long 35
#
# Online gc while 4 clients push, re-push and delete images in one
# repository, their layers drawn from a shared pool: every push
# succeeds, gc (plain and --untagged, every few tenths of a second)
# runs at least 10 times while all of them push and really sweeps blobs
# meanwhile, and afterwards every image still tagged pulls back byte for
# byte.  A blob swept by gc is unknown to the repository afterwards (its
# layer link went with it), uploads again and a manifest naming it is
# accepted.  Each client pushes 3 images, then goes on until gc has done
# that (a count of events, not of seconds: on a slow machine it takes
# longer, and proves the same).

. ./regress/lib.sh
. ./regress/gclib.sh

# Under ASan every step is about 3 times slower: a client under load can
# take more than 5 s between a blob and its manifest, and GC then rightly
# sweeps the blob (the grace is the contract, see regd(8)).
GRACE=5
[ -n "${REGD_ASAN:-}" ] && GRACE=12
GC_IMAGES=3
GC_IMAGES_MAX=100
GC_RUNS=10
regd_start "gc grace $GRACE"
REPO=gc/shared
gc_pool 12

# client N: push images while gc_more says so; each image has its own
# config and layer and two pool layers, is pushed again under a second
# tag, and every second image deletes the one before by digest.
client()
{
	local c=$1 i=0 d prev= a b

	BODY=$T/body.$c
	HDRS=$T/hdrs.$c
	while gc_more "$i"; do
		i=$((i + 1))
		d=$T/c$c/$i
		a=$((RANDOM % 12))
		b=$(((a + 1 + RANDOM % 11) % 12))
		gc_image "$d" "$c" "$i" "$a" "$b"
		for f in config own pa pb; do
			push_blob "$REPO" "$d/$f"
		done
		push_manifest "$REPO" "c$c-$i" "$d/manifest" "$mtype"
		# The re-push: blobs again (they exist), then the manifest.
		for f in pa pb own; do
			push_blob "$REPO" "$d/$f"
		done
		push_manifest "$REPO" "c$c-$i-re" "$d/manifest" "$mtype"
		if [ -n "$prev" ]; then
			http DELETE "$URL/v2/$REPO/manifests/$(sha "$prev/manifest")"
			[ "$STATUS" = 202 ] || fail "client $c: DELETE: $STATUS"
			touch "$prev/deleted"
			prev=
		else
			prev=$d
		fi
	done
	echo "$i" > "$T/c$c.count"
}

# Plain and --untagged in turn.
gc_alternate()
{
	if [ $((RUNS % 2)) -eq 0 ]; then
		$REGCTL gc
	else
		$REGCTL gc --untagged
	fi
}

gc_clients 4 client
gc_during gc_alternate
gc_clients_wait
sleep $((GRACE + 1))
$REGCTL gc --untagged >> "$T/gc.out" 2>&1 || fail "last regctl gc failed"
gc_totals
note "$PUSHED images pushed by 4 clients, $RUNS gc runs ($DURING while all pushed, sweeping $SWEPT_DURING blobs), $SWEPT blobs swept in all"
[ "$DURING" -ge "$GC_RUNS" ] ||
    fail "only $DURING gc runs while all 4 clients pushed ($PUSHED images)"
# The sweeps must have happened while clients were pushing, not only last.
[ "$SWEPT_DURING" -gt 0 ] ||
    fail "no blob swept while the clients pushed ($PUSHED images)"
[ "$PUSHED" -ge $((4 * GC_IMAGES)) ] || fail "only $PUSHED images pushed"

# Every image still tagged pulls back identical.
both_tags()
{
	gc_pull_back "$URL" "$1" "c$2-$3" "c$2-$3-re"
}
gc_kept both_tags
[ "$CHECKED" -ge $((4 * GC_IMAGES / 2)) ] || fail "only $CHECKED images left to check"
note "$CHECKED images pulled back byte for byte"

# A layer of a deleted image was swept: unknown now, and pushable again.
gone=
for d in "$T"/c?/*; do
	[ -e "$d/deleted" ] || continue
	http HEAD "$URL/v2/$REPO/blobs/$(sha "$d/own")"
	if [ "$STATUS" = 404 ]; then
		gone=$d
		break
	fi
done
[ -n "$gone" ] || fail "no layer of a deleted image was swept"
f=$(find "$T/storage/docker/registry/v2" -path "*$(sha "$gone/own" |
    cut -c8-)*")
[ -z "$f" ] || fail "swept blob still has files: $f"
for f in config own pa pb; do
	push_blob "$REPO" "$gone/$f"
done
push_manifest "$REPO" again "$gone/manifest" "$mtype"
http GET "$URL/v2/$REPO/blobs/$(sha "$gone/own")"
check_eq "$STATUS" 200 "re-pushed blob"
cmp -s "$BODY" "$gone/own" || fail "re-pushed blob differs"
