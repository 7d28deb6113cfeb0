# Token authentication: JWTs made and signed here with openssl (RS256 and
# ES256) are accepted for the scope they grant; expired, not yet valid,
# wrongly signed, wrong audience or issuer, "alg: none" and too narrow
# tokens get 401 with a Bearer challenge naming realm, service and scope.
. regress/lib.sh
. regress/authlib.sh

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=issuer rsa" \
    -keyout "$T/rsa.key" -out "$T/rsa.crt" >/dev/null 2>&1 || fail "rsa"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj "/CN=issuer ec" -keyout "$T/ec.key" -out "$T/ec.crt" \
    >/dev/null 2>&1 || fail "ec"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=intruder" \
    -keyout "$T/evil.key" -out "$T/evil.crt" >/dev/null 2>&1 || fail "evil"
cat "$T/rsa.crt" "$T/ec.crt" > "$T/issuer.pem"

tls_start "" "	authenticate with token realm \"https://auth.test/token\" service \"regd.test\" issuer \"test-issuer\" certificate \"$T/issuer.pem\""
C="--cacert $T/ca.crt"

b64url()
{
	openssl base64 -A | tr '+/' '-_' | tr -d '='
}

# jwt ALG KEY CLAIMS-JSON: a signed token on stdout.
jwt()
{
	local h p sig

	h=$(printf '{"alg":"%s","typ":"JWT"}' "$1" | b64url)
	p=$(printf '%s' "$3" | b64url)
	case $1 in
	RS256)
		sig=$(printf '%s.%s' "$h" "$p" |
		    openssl dgst -sha256 -sign "$2" | b64url)
		;;
	ES256)
		# openssl gives DER (r, s); JWS wants r || s, 32 bytes each.
		sig=$(printf '%s.%s' "$h" "$p" |
		    openssl dgst -sha256 -sign "$2" | python3 -c '
import sys
d = sys.stdin.buffer.read()
def item(b, i):
    l = b[i + 1]; i += 2
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[i:i + n], "big"); i += n
    return b[i:i + l], i + l
seq, _ = item(d, 0)
r, i = item(seq, 0)
s, _ = item(seq, i)
sys.stdout.buffer.write(r[-32:].rjust(32, b"\0") + s[-32:].rjust(32, b"\0"))' |
		    b64url)
		;;
	none)
		sig=
		;;
	esac
	printf '%s.%s.%s\n' "$h" "$p" "$sig"
}

now=$(date +%s)
claims()
{
	# claims ACCESS-JSON [exp-offset] [aud] [iss] [nbf-offset]
	printf '{"iss":"%s","sub":"tokuser","aud":"%s","exp":%d,"nbf":%d,"iat":%d,"access":%s}' \
	    "${4:-test-issuer}" "${3:-regd.test}" $((now + ${2:-300})) \
	    $((now + ${5:-0} - 5)) "$now" "$1"
}
acc()
{
	printf '[{"type":"repository","name":"%s","actions":[%s]}]' "$1" "$2"
}

# Anonymous: a Bearer challenge with the scope of the request.
http GET "$URL/v2/" $C
expect_error 401 UNAUTHORIZED
check_eq "$(hdr WWW-Authenticate)" \
    'Bearer realm="https://auth.test/token",service="regd.test"' "base challenge"
http GET "$URL/v2/lib/t/manifests/v1" $C
expect_error 401 UNAUTHORIZED
check_eq "$(hdr WWW-Authenticate)" \
    'Bearer realm="https://auth.test/token",service="regd.test",scope="repository:lib/t:pull"' \
    "pull challenge"

push_tok=$(jwt RS256 "$T/rsa.key" "$(claims "$(acc lib/t '"pull","push"')")")
http GET "$URL/v2/" $C -H "Authorization: Bearer $push_tok"
check_eq "$STATUS" 200 "/v2/ with a valid token"
export CURL_HOME=$T
printf 'cacert = "%s"\nheader = "Authorization: Bearer %s"\n' "$T/ca.crt" \
    "$push_tok" > "$T/.curlrc"
push_image lib/t v1
check_manifest lib/t v1 "$IMG_MANIFEST" \
    application/vnd.oci.image.manifest.v1+json
rm "$T/.curlrc"

# ES256 with pull only: pull works, push asks for more.
pull_tok=$(jwt ES256 "$T/ec.key" "$(claims "$(acc lib/t '"pull"')")")
http GET "$URL/v2/lib/t/manifests/v1" $C -H "Authorization: Bearer $pull_tok" \
    -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 200 "ES256 pull"
http POST "$URL/v2/lib/t/blobs/uploads/" $C -H "Authorization: Bearer $pull_tok"
expect_error 401 UNAUTHORIZED
check_match "$(hdr WWW-Authenticate)" 'scope="repository:lib/t:pull,push"' \
    "push challenge"
# A token for another repository.
other=$(jwt RS256 "$T/rsa.key" "$(claims "$(acc lib/other '"pull"')")")
http GET "$URL/v2/lib/t/manifests/v1" $C -H "Authorization: Bearer $other"
expect_error 401 UNAUTHORIZED

bad()
{
	http GET "$URL/v2/lib/t/tags/list" $C -H "Authorization: Bearer $1"
	check_eq "$STATUS" 401 "$2"
	check_match "$(hdr WWW-Authenticate)" '^Bearer realm=' "$2: challenge"
}
good=$(claims "$(acc lib/t '"pull"')")
bad "$(jwt RS256 "$T/rsa.key" "$(claims "$(acc lib/t '"pull"')" -100)")" "expired"
bad "$(jwt RS256 "$T/rsa.key" "$(claims "$(acc lib/t '"pull"')" 300 regd.test test-issuer 600)")" "not yet valid"
bad "$(jwt RS256 "$T/evil.key" "$good")" "signed by another key"
bad "$(jwt RS256 "$T/rsa.key" "$(claims "$(acc lib/t '"pull"')" 300 other.service)")" "wrong audience"
bad "$(jwt RS256 "$T/rsa.key" "$(claims "$(acc lib/t '"pull"')" 300 regd.test evil-issuer)")" "wrong issuer"
bad "$(jwt none "" "$good")" "alg none"
# A good signature on a header that was then changed to another algorithm.
t=$(jwt RS256 "$T/rsa.key" "$good")
bad "$(printf '{"alg":"HS256","typ":"JWT"}' | b64url).${t#*.}" "alg HS256"
bad "garbage" "not a JWT"
http GET "$URL/v2/lib/t/tags/list" $C -H "Authorization: Bearer $(jwt RS256 "$T/rsa.key" "$good")"
check_eq "$STATUS" 200 "the good token"
check_eq "$(json_get '.tags[0]')" v1 "tag list"
regd_stop
grep -q ' tokuser \[' "$T/access.log" || fail "token subject not logged"
