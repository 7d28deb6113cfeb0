#!/bin/bash
# regress: long 30
#
# A 1 GiB blob pushed in 64 MiB chunked PATCHes and pulled back keeps its
# digest, while the summed VmRSS of every regd process, sampled every
# 0.2 s during both transfers, stays under 64 MiB (the peak is printed):
# regd streams bodies, it never holds one in memory.

. ./regress/lib.sh

SIZE=$((1024 * 1024 * 1024))
CHUNK=$((64 * 1024 * 1024))
LIMIT_KB=$((64 * 1024))

# AddressSanitizer's shadow memory makes the resident size meaningless.
[ -z "${REGD_ASAN:-}" ] || skip "VmRSS limits mean nothing under ASan"

regd_start

# rss_total [count]: the summed resident set (KiB) of regd and its
# descendants, or with an argument how many processes that is.
rss_total()
{
	ps -e -o pid=,ppid=,rss= | awk -v root="$REGD_PID" -v count="${1:-}" '
	{ pp[$1] = $2; r[$1] = $3 }
	END {
		for (p in pp) {
			q = p
			n = 0
			while (n++ < 64 && q != "" && q != root && q > 1)
				q = pp[q]
			if (q == root) {
				s += r[p]
				k++
			}
		}
		print (count != "" ? k + 0 : s + 0)
	}'
}

# The sampler ends by itself when regd or $T is gone.
sampler()
{
	while [ -d "$T" ] && alive "$REGD_PID" && [ ! -f "$T/stop" ]; do
		rss_total >> "$T/rss"
		sleep 0.2
	done
}

base=$(rss_total)
nproc=$(rss_total count)
note "summed VmRSS of regd's $nproc processes at rest: $base KiB"
[ "$nproc" -ge 5 ] || fail "only $nproc regd processes found (prefork 2)"
[ "$base" -gt 0 ] || fail "cannot read the VmRSS of regd's processes"

head -c "$SIZE" /dev/urandom > "$T/big"
d=$(sha "$T/big")
(cd "$T" && split -b "$CHUNK" -d -a 2 big chunk.) || fail "split"
rm -f "$T/big"

sampler &
SAMPLER=$!
t0=$(date +%s.%N)

upload_start lib/big
off=0
for c in "$T"/chunk.*; do
	n=$(stat -c %s "$c")
	http PATCH "$LOC" -T "$c" -H 'Content-Type: application/octet-stream' \
	    -H "Content-Range: $off-$((off + n - 1))"
	check_eq "$STATUS" 202 "PATCH $off-$((off + n - 1))"
	check_eq "$(hdr Range)" "0-$((off + n - 1))" "Range after $c"
	LOC=$(loc_url "$(hdr Location)")
	off=$((off + n))
done
check_eq "$off" "$SIZE" "bytes sent"
http PUT "$(add_query "$LOC" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "closing PUT of the 1 GiB blob"
t1=$(date +%s.%N)

got=$(curl -s -D "$T/pullhdrs" "$URL/v2/lib/big/blobs/$d" | sha256sum |
    cut -d' ' -f1)
t2=$(date +%s.%N)
cp "$T/pullhdrs" "$HDRS"
check_eq "$(hdr Content-Length)" "$SIZE" "Content-Length of the pull"
check_eq "sha256:$got" "$d" "digest of the 1 GiB blob pulled back"

http GET "$URL/v2/lib/big/blobs/$d" -H "Range: bytes=$((SIZE - 1000))-"
check_eq "$STATUS" 206 "Range near the end"
last=$(ls "$T"/chunk.* | tail -n 1)
tail -c 1000 "$last" | cmp -s - "$BODY" || fail "last 1000 bytes differ"

touch "$T/stop"
wait "$SAMPLER"
samples=$(wc -l < "$T/rss")
peak=$(sort -n "$T/rss" | tail -n 1)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v p="$peak" -v s="$samples" 'BEGIN {
	printf "push %.1f s, pull %.1f s, %d samples, ", b - a, c - b, s
	printf "peak summed VmRSS %d KiB (%.1f MiB)\n", p, p / 1024 }'
[ "$samples" -ge 5 ] || fail "only $samples VmRSS samples taken"
[ "$peak" -lt "$LIMIT_KB" ] ||
    fail "peak summed VmRSS $peak KiB is not under $LIMIT_KB KiB"
exit 0
