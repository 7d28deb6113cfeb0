# A 50 MiB blob pushed and pulled over TLS comes back byte for byte (the
# frontend sends blob bodies from storage's descriptor, through OpenSSL).
. regress/lib.sh
. regress/authlib.sh

tls_start
make_blob $((50 * 1024 * 1024)) "$T/big"
d=$(sha "$T/big")
http POST "$URL/v2/big/blobs/uploads/?digest=$d" --cacert "$T/ca.crt" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/big"
check_eq "$STATUS" 201 "push 50 MiB over TLS"
curl -s --cacert "$T/ca.crt" -o "$T/back" -w '%{http_code}' \
    "$URL/v2/big/blobs/$d" > "$T/code"
check_eq "$(cat "$T/code")" 200 "GET the blob over TLS"
cmp -s "$T/big" "$T/back" || fail "blob differs after the TLS round trip"
# A range of it too.
curl -s --cacert "$T/ca.crt" -o "$T/part" -H 'Range: bytes=1000-1999999' \
    "$URL/v2/big/blobs/$d"
tail -c +1001 "$T/big" | head -c 1999000 | cmp -s - "$T/part" ||
    fail "range over TLS differs"
regd_stop
