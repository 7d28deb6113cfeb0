# The server's cipher order is nginx's with OpenSSL clients: a client that
# offers AES-256-GCM first (OpenSSL's own order) gets AES-128-GCM on TLS 1.3
# and 1.2 when the CPU has AES instructions (ChaCha20 when it has none); a
# client whose first choice is ChaCha20 gets it; "tls ciphers" sets the
# TLS 1.2 order.
. regress/lib.sh
. regress/authlib.sh

if grep -qw aes /proc/cpuinfo; then
	want13=TLS_AES_128_GCM_SHA256 want12=ECDHE-RSA-AES128-GCM-SHA256
else
	want13=TLS_CHACHA20_POLY1305_SHA256 want12=ECDHE-RSA-CHACHA20-POLY1305
fi

# sclient NAME OPTIONS...: the "New, ..." line of a handshake.
sclient()
{
	local name=$1

	shift
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$TPORT" \
	    -CAfile "$T/ca.crt" "$@" > "$T/sc.$name" 2>&1
	grep '^New, ' "$T/sc.$name"
}

tls_start ""
out=$(sclient d13 -tls1_3 -ciphersuites \
    TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256)
[ "$out" = "New, TLSv1.3, Cipher is $want13" ] ||
    fail "TLS 1.3, OpenSSL's client order: $out, not $want13"
out=$(sclient d12 -tls1_2 -cipher \
    ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256)
[ "$out" = "New, TLSv1.2, Cipher is $want12" ] ||
    fail "TLS 1.2, AES-256 first: $out, not $want12"
out=$(sclient c13 -tls1_3 -ciphersuites \
    TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256)
[ "$out" = "New, TLSv1.3, Cipher is TLS_CHACHA20_POLY1305_SHA256" ] ||
    fail "TLS 1.3, ChaCha20 first: $out"
regd_stop

PORT=
tls_start "" '	tls ciphers "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"'
out=$(sclient t12 -tls1_2 -cipher \
    ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384)
[ "$out" = "New, TLSv1.2, Cipher is ECDHE-RSA-AES256-GCM-SHA384" ] ||
    fail "tls ciphers' order not kept: $out"
