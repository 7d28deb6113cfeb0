#!/bin/bash
# A 24 MiB blob fetched cold from an upstream over TLS (Distribution
# with htpasswd, its CA given as "ca file"), read by the fetcher from
# the TLS stream in large reads, not through evhttp: two clients pulling
# it at once get its exact bytes, the upstream answers one GET (after
# the 401 that asks for the credentials), and a warm pull answers from
# the store.  Then a second blob that the upstream
# serves with the wrong bytes (its file corrupted in Distribution's
# store) is refused: the client's stream is cut, nothing is stored.
. regress/lib.sh
. regress/authlib.sh
. regress/mirrorlib.sh

up_tls_start "$T/up" mirror 'up-secret'
make_blob $((24 * 1024 * 1024)) "$T/big"
d=$(sha "$T/big")
up_blob lib/big "$T/big"
make_blob $((3 * 1024 * 1024)) "$T/bad"
bd=$(sha "$T/bad")
up_blob lib/big "$T/bad"
f=$(find "$T/up" -path "*/blobs/sha256/*/${bd#sha256:}/data")
[ -f "$f" ] || fail "no data file of $bd upstream"
printf 'X' | dd of="$f" bs=1 seek=1000 conv=notrunc 2>/dev/null

mirror_start "$DREG_URL" '	mirror "up"' "	ca file \"$T/ca.crt\"
	credentials \"$T/up.cred\""

for c in a b; do
	curl -s -o "$T/$c" -w '%{http_code}\n' "$URL/v2/lib/big/blobs/$d" \
	    > "$T/$c.out" &
	eval "p$c=\$!"
done
wait $pa
wait $pb
for c in a b; do
	check_eq "$(cat "$T/$c.out")" 200 "client $c"
	check_eq "$(sha "$T/$c")" "$d" "client $c's bytes"
done
check_eq "$(grep -c "\"GET /v2/lib/big/blobs/$d HTTP/1.1\" 200 " "$T/dreg.log")" 1 \
    "upstream GETs of the blob"
curl -s -o "$T/w" "$URL/v2/lib/big/blobs/$d"
check_eq "$(sha "$T/w")" "$d" "warm pull's bytes"
check_eq "$(grep -c "\"GET /v2/lib/big/blobs/$d HTTP/1.1\" 200 " "$T/dreg.log")" 1 \
    "upstream GETs after a warm pull"

curl -s -o "$T/x" "$URL/v2/lib/big/blobs/$bd" && rc=0 || rc=$?
[ "$rc" -ne 0 ] || fail "a corrupt blob's stream ended cleanly"
http HEAD "$URL/v2/lib/big/blobs/$bd"
[ -z "$(find "$T/storage" -path "*/${bd#sha256:}/data")" ] ||
    fail "the corrupt blob was stored"
regd_stop
