#!/bin/bash
# A cold blob streamed from the mirror's pipe to clients of unlike
# speeds (plain HTTP: spliced from the pipe to the socket): one reads at
# 4 MiB/s (its socket fills, the frontend waits for it), one at full
# speed, one goes away after 1 MiB.  Both that stay get the exact bytes,
# the upstream sends the blob once, no frontend died (regd.log), and a
# keep-alive connection answers a second request after a spliced body.
. regress/lib.sh
. regress/mirrorlib.sh

mkdir -p "$T/up"
dreg_start "$T/up"
make_blob $((12 * 1024 * 1024)) "$T/big"
d=$(sha "$T/big")
up_blob lib/big "$T/big"
mirror_start "$DREG_URL" '	mirror "up"'

curl -s --limit-rate 4M -o "$T/slow" -w '%{http_code}\n' \
    "$URL/v2/lib/big/blobs/$d" > "$T/slow.out" &
ps=$!
curl -s -o "$T/fast" -w '%{http_code}\n' "$URL/v2/lib/big/blobs/$d" \
    > "$T/fast.out" &
pf=$!
curl -s "$URL/v2/lib/big/blobs/$d" | head -c 1048576 > /dev/null
wait $pf
wait $ps
for c in slow fast; do
	check_eq "$(cat "$T/$c.out")" 200 "$c client"
	check_eq "$(sha "$T/$c")" "$d" "$c client's bytes"
done
check_eq "$(grep -c "\"GET /v2/lib/big/blobs/$d " "$T/dreg.log")" 1 \
    "upstream GETs of the blob"
grep -E "frontend .*(restarting|exited|signal)" "$T/regd.log" &&
    fail "a frontend died"

# A second blob, cold, then /v2/ on the same connection.
make_blob $((2 * 1024 * 1024)) "$T/two"
d2=$(sha "$T/two")
up_blob lib/big "$T/two"
curl -s -o "$T/two.got" -o /dev/null -w '%{http_code} %{num_connects}\n' \
    "$URL/v2/lib/big/blobs/$d2" "$URL/v2/" > "$T/ka.out"
check_eq "$(sha "$T/two.got")" "$d2" "second blob's bytes"
check_eq "$(tr '\n' ' ' < "$T/ka.out")" "200 1 200 0 " \
    "two answers on one connection"
regd_stop
