#!/bin/bash
# The upstream is another regd over TLS taking bearer tokens, from a
# token service over TLS (regress/token-server.py) that wants Basic
# credentials.
# The mirror follows the challenge (realm, service, scope), gets a token
# with its "credentials", pulls an image with the upstream's digests,
# and reuses the token: one token request for the whole image.
. regress/lib.sh
. regress/authlib.sh

make_certs
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=issuer rsa" \
    -keyout "$T/rsa.key" -out "$T/rsa.crt" >/dev/null 2>&1 || fail "issuer"
tkport=$(free_port)
python3 regress/token-server.py "$tkport" "$T/rsa.key" mirror:tok-secret \
    "$T/token.log" "$T/server.crt" "$T/server.key" 2> "$T/token.err" &
TK_PID=$!
uport=$(free_port)
mkdir -p "$T/upstore"
[ "$REGD_ROOT" -eq 1 ] && chown -R _regd "$T/upstore"
cat > "$T/up.conf" <<EOD
storage "$T/upstore"
socket "$T/up.sock"
prefork 1
log access "$T/up-access.log"
server "up" {
	listen on 127.0.0.1 port $uport tls
	tls certificate "$T/server.crt"
	tls key "$T/server.key"
	authenticate with token realm "https://127.0.0.1:$tkport/token" service "regd.test" issuer "test-issuer" certificate "$T/rsa.crt"
}
EOD
"$REGD" -d -f "$T/up.conf" >> "$T/up.log" 2>&1 &
UP_PID=$!
stop_up()
{
	local rc=$?

	kill "$TK_PID" 2>/dev/null
	kill "$UP_PID" 2>/dev/null
	regd_wait_gone 5 "$UP_PID" || kill -KILL "$UP_PID" 2>/dev/null
	(exit "$rc")
	regd_cleanup
}
trap stop_up EXIT
n=100
until [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.crt" \
    "https://127.0.0.1:$uport/v2/")" = 401 ]; do
	n=$((n - 1))
	[ $n -gt 0 ] && alive "$UP_PID" ||
	    fail "upstream regd did not start: $(tail -5 "$T/up.log")"
	sleep 0.1
done

# Seed it with a token made here.
URL=https://127.0.0.1:$uport
as_token "$(token '{"alg":"RS256","typ":"JWT"}' "$(token_claims seeder \
    '[{"type":"repository","name":"lib/tok","actions":["pull","push"]}]')")"
push_image lib/tok v1
unset CURL_HOME
URL=
PORT=

printf 'mirror:tok-secret\n' > "$T/tok.cred"
regd_start "upstream \"tok\" {
	url \"https://127.0.0.1:$uport\"
	credentials \"$T/tok.cred\"
	ca file \"$T/ca.crt\"
}" '	mirror "tok" prefix "tok"'

http GET "$URL/v2/tok/lib/tok/manifests/v1" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
check_eq "$STATUS" 200 "manifest through the mirror"
check_eq "$(hdr Docker-Content-Digest)" "$IMG_DIGEST" "manifest digest"
cmp -s "$BODY" "$IMG_MANIFEST" || fail "manifest bytes differ"
for d in $IMG_CONFIG $IMG_LAYER; do
	http GET "$URL/v2/tok/lib/tok/blobs/$d"
	check_eq "$STATUS" 200 "blob $d"
	check_eq "$(sha "$BODY")" "$d" "blob $d bytes"
done
n=$(grep -c '^GET /token' "$T/token.log")
check_eq "$n" 1 "token requests"
grep -q 'scope=repository%3Alib%2Ftok%3Apull basic=1' "$T/token.log" ||
    fail "token request: $(cat "$T/token.log")"
regd_stop
