#!/bin/bash
# Cold blobs one after another on one keep-alive connection (as
# containerd pulls them): each streams from the fetch's pipe to its end;
# plain HTTP stops writing between answers and must start again when
# the pipe has bytes.
. regress/lib.sh
. regress/mirrorlib.sh

mkdir -p "$T/up"
dreg_start "$T/up"
args=
for i in 1 2 3 4; do
	make_blob $((3000 + i)) "$T/b$i"
	up_blob lib/a "$T/b$i"
done
mirror_start "$DREG_URL" '	mirror "up"'
for i in 1 2 3 4; do
	args="$args -o $T/o$i $URL/v2/lib/a/blobs/$(sha "$T/b$i")"
done
out=$(curl -s -m 20 -w '%{http_code} %{num_connects}\n' $args)
check_eq "$(echo $out)" "200 1 200 0 200 0 200 0" "four answers, one connection"
for i in 1 2 3 4; do
	cmp -s "$T/b$i" "$T/o$i" || fail "blob $i: bytes differ"
done
regd_stop
