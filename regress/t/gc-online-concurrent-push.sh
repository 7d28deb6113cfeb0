#!/bin/bash
#
# Online gc while 4 clients push, re-push and delete images in one
# repository for a while, their layers drawn from a shared pool: every
# push succeeds, gc (plain and --untagged, every few tenths of a second)
# really sweeps blobs meanwhile, and afterwards every image still tagged
# pulls back byte for byte.  A blob swept by gc is unknown to the
# repository afterwards (its layer link went with it), uploads again and
# a manifest naming it is accepted.

. ./regress/lib.sh
. ./regress/gclib.sh

# Under ASan every step is about 3 times slower: a client under load can
# take more than 5 s between a blob and its manifest, and GC then rightly
# sweeps the blob (the grace is the contract, see regd(8)).
GRACE=5
[ -n "${REGD_ASAN:-}" ] && GRACE=12
SECS=16
regd_start "gc grace $GRACE"
REPO=gc/shared
gc_pool 12

# client N: push images until the time is up; each image has its own
# config and layer and two pool layers, is pushed again under a second
# tag, and every second image deletes the one before by digest.
client()
{
	local c=$1 i=0 d prev= a b end=$((SECONDS + SECS))

	BODY=$T/body.$c
	HDRS=$T/hdrs.$c
	while [ "$SECONDS" -lt "$end" ]; do
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

gc_clients 4 client
runs=0
end=$((SECONDS + SECS))
while [ "$SECONDS" -lt "$end" ]; do
	if [ $((runs % 2)) -eq 0 ]; then
		$REGCTL gc >> "$T/gc.out" 2>&1 || fail "regctl gc: $(tail -3 "$T/gc.out")"
	else
		$REGCTL gc --untagged >> "$T/gc.out" 2>&1 ||
		    fail "regctl gc --untagged: $(tail -3 "$T/gc.out")"
	fi
	runs=$((runs + 1))
	sleep 0.3
done
gc_clients_wait
sleep $((GRACE + 1))
$REGCTL gc --untagged >> "$T/gc.out" 2>&1 || fail "last regctl gc failed"
gc_totals
note "$PUSHED images pushed by 4 clients, $runs gc runs, $SWEPT blobs swept"
[ "$runs" -ge 10 ] || fail "only $runs gc runs in $SECS s"
[ "$PUSHED" -ge 20 ] || fail "only $PUSHED images pushed in $SECS s"
[ "$SWEPT" -gt 0 ] || fail "gc never swept anything"
# The sweeps must have happened while clients were pushing, not only last.
early=$(head -n -1 "$T/gc.out" | awk '$1 == "removed" { s += $2 } END { print s + 0 }')
[ "$early" -gt 0 ] || fail "no blob swept while the clients pushed"

# Every image still tagged pulls back identical.
both_tags()
{
	gc_pull_back "$URL" "$1" "c$2-$3" "c$2-$3-re"
}
gc_kept both_tags
[ "$CHECKED" -ge 10 ] || fail "only $CHECKED images left to check"
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
