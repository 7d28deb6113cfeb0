# A 128 MiB blob read over TLS does not grow the frontends: the body is
# read from storage's descriptor a piece at a time as the client takes it,
# not mapped or buffered whole (plain HTTP uses sendfile instead).
. regress/lib.sh
. regress/authlib.sh

[ -z "${REGD_ASAN:-}" ] || skip "VmRSS limits mean nothing under ASan"

tls_start
make_blob $((128 * 1024 * 1024)) "$T/big"
d=$(sha "$T/big")
http POST "$URL/v2/big/blobs/uploads/?digest=$d" --cacert "$T/ca.crt" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/big"
check_eq "$STATUS" 201 "push 128 MiB over TLS"
# A slow reader keeps most of the body on the server side for a while.
curl -s --cacert "$T/ca.crt" --limit-rate 20M -o "$T/back" \
    "$URL/v2/big/blobs/$d" &
reader=$!
peak=0
while kill -0 "$reader" 2>/dev/null; do
	for p in $(pids_titled frontend); do
		kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
	done
	sleep 0.2
done
wait "$reader" || fail "the TLS GET failed"
cmp -s "$T/big" "$T/back" || fail "blob differs after the TLS round trip"
note "peak frontend VmRSS during the 128 MiB TLS GET: $peak KiB"
[ "$peak" -lt $((32 * 1024)) ] ||
    fail "a frontend grew to $peak KiB while sending 128 MiB over TLS"
regd_stop
