#!/bin/bash
# A blob HEAD that storage answered once is answered again without a
# system call while nothing was removed: 100 HEADs make fewer than 20
# stats in storage (strace -c; it was 2 per HEAD, the repository's link
# and the blob).  A DELETE of the link is a 404 at once, the other
# repository's link still answers with the right size, and a push again
# is a 200.
. regress/lib.sh

[ "$REGD_ROOT" -eq 1 ] || skip "strace of the _regd storage needs root"
command -v strace >/dev/null || fail "strace is missing (regress/deps.sh)"

regd_start
make_blob 5000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/a "$T/blob"
push_blob lib/b "$T/blob"
http HEAD "$URL/v2/lib/a/blobs/$d"
check_eq "$STATUS" 200 "first HEAD"

st=$(pids_titled storage)
[ -n "$st" ] || fail "no storage process"
strace -f -c -e trace=%%stat -o "$T/strace" -p "$st" 2> "$T/strace.err" &
sp=$!
n=0
until grep -q attached "$T/strace.err"; do
	alive "$sp" || fail "strace: $(cat "$T/strace.err")"
	n=$((n + 1))
	[ $n -lt 100 ] || fail "strace did not attach: $(cat "$T/strace.err")"
	sleep 0.1
done
urls=
for i in $(seq 1 100); do
	urls="$urls $URL/v2/lib/a/blobs/$d"
done
out=$(curl -s -I $urls | tr -d '\r' | awk '
	$1 == "HTTP/1.1" && $2 == 200 { ok++ }
	tolower($1) == "content-length:" && $2 == 5000 { len++ }
	END { print ok + 0, len + 0 }')
sleep 0.3
kill -INT "$sp"
wait "$sp"
cat "$T/strace" >&2
check_eq "$out" "100 100" "200s and Content-Lengths of 100 HEADs"
stats=$(awk '$NF == "total" { print $4 }' "$T/strace")
[ "${stats:-0}" -lt 20 ] ||
    fail "$stats stats in storage for 100 blob HEADs (at most 19)"
note "100 blob HEADs: ${stats:-0} stats in storage"

http DELETE "$URL/v2/lib/a/blobs/$d"
check_eq "$STATUS" 202 "DELETE of lib/a's link"
http HEAD "$URL/v2/lib/a/blobs/$d"
check_eq "$STATUS" 404 "HEAD after the DELETE"
http HEAD "$URL/v2/lib/b/blobs/$d"
check_eq "$STATUS" 200 "HEAD in lib/b"
check_eq "$(hdr Content-Length)" 5000 "size in lib/b"
push_blob lib/a "$T/blob"
http HEAD "$URL/v2/lib/a/blobs/$d"
check_eq "$STATUS" 200 "HEAD after pushing again"
regd_stop
