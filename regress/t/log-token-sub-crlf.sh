# Client-controlled fields of the access log are escaped: a bearer token
# whose "sub" holds CR LF and a forged line gives one access line with
# those bytes as \x0D\x0A; a '"' in the request target cannot close the
# quoted request field, nor a space in the user field shift the fields.  A token whose header lists "crit" extensions is
# refused (RFC 7515: none is understood): 401.
. regress/lib.sh
. regress/authlib.sh

token_start
log=$T/access.log
hdr_json='{"alg":"RS256","typ":"JWT"}'
acc='[{"type":"repository","name":"lib/a","actions":["pull","push"]}]'
forged='127.0.0.1 - admin [01/Jan/2030:00:00:00 +0000] \"DELETE /v2/lib/a/manifests/v1 HTTP/1.1\" 202 0 0.001'
tok=$(token "$hdr_json" "$(token_claims "evil\\r\\n$forged" "$acc")")
http GET "$URL/v2/lib/a/tags/list?mark=crlf" --cacert "$T/ca.crt" \
    -H "Authorization: Bearer $tok"
check_eq "$STATUS" 404 "tags of an empty repository with the token"

http GET "$URL/v2/?q=%22x%22&quote=\"\\" --cacert "$T/ca.crt" \
    -H "Authorization: Bearer $tok"
check_eq "$STATUS" 200 "/v2/ with quotes in the query"

crit=$(token '{"alg":"RS256","typ":"JWT","crit":["exp"]}' \
    "$(token_claims alice "$acc")")
http GET "$URL/v2/" --cacert "$T/ca.crt" -H "Authorization: Bearer $crit"
expect_error 401 UNAUTHORIZED
http GET "$URL/v2/lib/a/tags/list" --cacert "$T/ca.crt" \
    -H "Authorization: Bearer $crit"
expect_error 401 UNAUTHORIZED
check_match "$(hdr WWW-Authenticate)" '^Bearer realm=' "challenge"
# The same claims without crit are fine.
ok=$(token "$hdr_json" "$(token_claims alice "$acc")")
http GET "$URL/v2/" --cacert "$T/ca.crt" -H "Authorization: Bearer $ok"
check_eq "$STATUS" 200 "the token without crit"
regd_stop

note "$(cat "$log")"
n=$(grep -c 'mark=crlf' "$log")
check_eq "$n" 1 "access lines of the request"
line=$(grep 'mark=crlf' "$log")
case $line in
*'evil\x0D\x0A127.0.0.1\x20-\x20admin\x20['*) ;;
*) fail "CR LF not escaped in: $line" ;;
esac
check_match "$line" '" 404 [0-9]+ [0-9.]+$' "the line ends with the status"
! grep -q '^127\.0\.0\.1 - admin' "$log" || fail "a forged line in the log"
! grep -q 'DELETE /v2/lib/a/manifests/v1 HTTP/1.1" 202' "$log" ||
    fail "a forged request field in the log"
line=$(grep 'quote=' "$log")
[ -n "$line" ] || fail "no line for the quoted query"
case $line in
*'quote=\x22\x5C HTTP/1.1" 200 '*) ;;
*) fail "quote and backslash not escaped in: $line" ;;
esac
exit 0
