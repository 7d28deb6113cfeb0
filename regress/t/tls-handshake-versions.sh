# TLS 1.3 and 1.2 handshakes succeed with ALPN http/1.1 and the chain
# verifying against the test CA; TLS 1.1 and 1.0 are refused by the
# server; the plain listener of the same server keeps working.
. regress/lib.sh
. regress/authlib.sh

tls_start

sclient()
{
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$TPORT" \
	    -CAfile "$T/ca.crt" -alpn http/1.1 "$@" > "$T/sc.out" 2>&1
}

sclient -tls1_3
grep -q '^New, TLSv1.3, Cipher is TLS_' "$T/sc.out" ||
    fail "no TLS 1.3 handshake: $(head -c 2000 "$T/sc.out")"
grep -q 'Verify return code: 0 (ok)' "$T/sc.out" ||
    fail "chain did not verify: $(grep Verify "$T/sc.out")"
grep -q 'ALPN protocol: http/1.1' "$T/sc.out" ||
    fail "ALPN http/1.1 not selected: $(grep -i alpn "$T/sc.out")"

sclient -tls1_2
grep -q '^New, TLSv1.2, Cipher is [A-Z]' "$T/sc.out" ||
    fail "no TLS 1.2 handshake: $(head -c 2000 "$T/sc.out")"

# The client is told to allow old protocols so the refusal is the server's.
for v in -tls1_1 -tls1; do
	sclient $v -cipher 'DEFAULT:@SECLEVEL=0'
	if ! grep -q '^New, (NONE), Cipher is (NONE)' "$T/sc.out"; then
		fail "$v handshake succeeded: $(grep -E '^New' "$T/sc.out")"
	fi
	# Alert 70 is the server's protocol_version refusal.
	grep -q 'alert protocol version' "$T/sc.out" ||
	    fail "$v: no protocol refusal: $(head -c 1500 "$T/sc.out")"
done

http GET "$URL/v2/" --cacert "$T/ca.crt"
check_eq "$STATUS" 200 "GET /v2/ over TLS"
check_eq "$(cat "$BODY")" "{}" "body of /v2/ over TLS"
http GET "$PLAIN/v2/"
check_eq "$STATUS" 200 "GET /v2/ on the plain listener"
regd_stop
