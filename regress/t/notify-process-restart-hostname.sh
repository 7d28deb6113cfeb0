#!/bin/bash
# The events process, killed -9 on its own, is restarted by the parent
# and takes its queue over: an event queued before the kill and one of a
# push after the restart both arrive.  The endpoint is named by host name
# (localhost), looked up before the chroot.  An https endpoint whose
# certificate does not verify is a delivery error in regctl show notify,
# not a sandbox kill.
. regress/lib.sh
. regress/notifylib.sh

WPORT=$(free_port)
SPORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
    -out "$T/cert.pem" -days 1 -subj /CN=localhost >/dev/null 2>&1 ||
    skip "openssl cannot make a certificate"
python3 - "$SPORT" "$T/cert.pem" "$T/key.pem" > /dev/null 2>&1 <<'EOF' &
import http.server, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
srv = http.server.HTTPServer(("127.0.0.1", port),
    http.server.BaseHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOF
SPID=$!
trap 'st=$?; kill $SPID 2>/dev/null; [ -n "$WPID" ] && kill "$WPID" 2>/dev/null; (exit $st); regd_cleanup' EXIT

regd_start "notify queue \"$T/queue\"
notify \"local\" {
	url \"http://localhost:$WPORT/\"
	backoff 1s max 1s
}
notify \"tls\" {
	url \"https://127.0.0.1:$SPORT/\"
	backoff 1s max 1s
	events push
}
notify \"nohost\" {
	url \"http://no-such-host.invalid/\"
	backoff 1s max 1s
	events push
}"
old=$(pids_titled notify)
[ -n "$old" ] || fail "no notify process"

make_blob 500 "$T/b1"
push_blob host/app "$T/b1"
sleep 0.3
kill -KILL "$old"
for i in $(seq 1 50); do
	new=$(pids_titled notify)
	[ -n "$new" ] && [ "$new" != "$old" ] && break
	sleep 0.1
done
[ -n "$new" ] && [ "$new" != "$old" ] || fail "notify not restarted"
# The frontends got their channel to the new one.
for i in $(seq 1 30); do
	$REGCTL show notify > "$T/show" 2>&1 && break
	sleep 0.1
done
make_blob 600 "$T/b2"
push_blob host/app "$T/b2"

webhook_start "$WPORT"
wait_events 2 || fail "only $(events_count) of 2 events after the restart"
jq -r -s '[.[].body.events[]] | unique_by(.id) | .[].target.digest' \
    "$T/events" | sort > "$T/got"
printf '%s\n%s\n' "$(sha "$T/b1")" "$(sha "$T/b2")" | sort > "$T/want"
diff "$T/want" "$T/got" || fail "events after the restart of notify"

for i in $(seq 1 40); do
	out=$($REGCTL show notify)
	echo "$out" | grep -qi 'certificate\|SSL' && break
	sleep 0.1
done
note "$out"
echo "$out" | grep -qi 'last error.*\(certificate\|SSL\)' ||
    fail "no certificate error for the https endpoint: $out"
check_eq "$(pids_titled notify)" "$new" "notify pid after the https attempts"
# A host that did not resolve before the chroot: an error, never a lookup
# from inside the sandbox (libcurl's resolver thread would be killed).
echo "$out" | grep -q 'last error.*not resolved' ||
    fail "no resolution error for the unknown host: $out"
check_eq "$(notify_col nohost 2)" 2 "events queued for the unknown host"
grep -q 'died of signal' "$T/regd.log" &&
    [ "$(grep -c 'notify .* died of signal' "$T/regd.log")" -gt 1 ] &&
    fail "notify died more than once: $(grep 'died' "$T/regd.log")"
exit 0
