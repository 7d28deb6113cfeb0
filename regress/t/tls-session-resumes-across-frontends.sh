#!/bin/bash
# TLS sessions resume on every frontend of the pool and across a reload:
# the session-ticket keys come from the parent, shared by all frontends,
# and outlive a reload (new keys come every two hours, the previous one
# still accepted).  With TLS 1.2 and 1.3, one session is resumed on 12
# new connections spread over 4 frontends, then again after a reload.
# (Before, every SSL_CTX made its own keys: a reload lost every session.)
. regress/lib.sh
. regress/authlib.sh

tls_start "prefork 4"

# resume VERSION PHASE: 12 connections with the saved session, all reused.
resume()
{
	local v=$1 i out reused=0

	for i in $(seq 1 12); do
		out=$(echo | timeout 10 openssl s_client -connect \
		    "127.0.0.1:$TPORT" "-$v" -CAfile "$T/ca.crt" \
		    -sess_in "$T/sess.$v" 2>&1)
		echo "$out" | grep -q '^Reused' && reused=$((reused + 1))
	done
	check_eq "$reused" 12 "$v sessions resumed $2"
	note "$v: 12 of 12 resumed $2"
}

for v in tls1_2 tls1_3; do
	# TLS 1.3 tickets arrive after the handshake: stdin stays open a
	# second so that s_client reads them before it leaves.
	sleep 1 | timeout 10 openssl s_client -connect "127.0.0.1:$TPORT" \
	    "-$v" -CAfile "$T/ca.crt" -sess_out "$T/sess.$v" > "$T/first.$v" 2>&1
	grep -q '^New' "$T/first.$v" || fail "no $v session: $(tail -5 "$T/first.$v")"
	[ -s "$T/sess.$v" ] || fail "no $v session saved"
	resume "$v" "across 4 frontends"
done

$REGCTL reload > /dev/null || fail "reload failed"
sleep 0.5
for v in tls1_2 tls1_3; do
	resume "$v" "after a reload"
done
exit 0
