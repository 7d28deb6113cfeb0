# "tls protocols" and "tls ciphers": a TLS 1.3-only server refuses 1.2; a
# 1.2 server limited to one cipher negotiates exactly it; bad values are
# errors at regd -n.
. regress/lib.sh
. regress/authlib.sh

tls_start "" '	tls protocols "tlsv1.3"'
echo | timeout 10 openssl s_client -connect "127.0.0.1:$TPORT" -tls1_2 \
    -CAfile "$T/ca.crt" > "$T/sc.out" 2>&1
grep -q '^New, (NONE), Cipher is (NONE)' "$T/sc.out" ||
    fail "TLS 1.2 accepted by a tlsv1.3 server: $(grep '^New' "$T/sc.out")"
echo | timeout 10 openssl s_client -connect "127.0.0.1:$TPORT" -tls1_3 \
    -CAfile "$T/ca.crt" > "$T/sc.out" 2>&1
grep -q '^New, TLSv1.3' "$T/sc.out" || fail "TLS 1.3 refused"
regd_stop

PORT=
tls_start "" '	tls protocols "tlsv1.2"
	tls ciphers "ECDHE-RSA-AES128-GCM-SHA256"'
for c in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384; do
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$TPORT" \
	    -tls1_2 -cipher "$c" -CAfile "$T/ca.crt" > "$T/sc.$c" 2>&1
done
grep -q '^New, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256' \
    "$T/sc.ECDHE-RSA-AES128-GCM-SHA256" || fail "the allowed cipher failed"
grep -q '^New, (NONE)' "$T/sc.ECDHE-RSA-AES256-GCM-SHA384" ||
    fail "a cipher outside tls ciphers was accepted"
regd_stop

sed -i -e 's/tls ciphers ".*"/tls ciphers "NO-SUCH-CIPHER"/' "$T/regd.conf"
"$REGD" -n -f "$T/regd.conf" > "$T/out" 2>&1 && fail "bad ciphers accepted"
grep -q 'bad tls ciphers' "$T/out" || fail "bad ciphers: $(cat "$T/out")"
sed -i -e 's/tls protocols ".*"/tls protocols "sslv3"/' "$T/regd.conf"
"$REGD" -n -f "$T/regd.conf" > "$T/out" 2>&1 && fail "bad protocols accepted"
grep -q "^$T/regd.conf:[0-9]*: bad tls protocols" "$T/out" ||
    fail "bad protocols: $(cat "$T/out")"
