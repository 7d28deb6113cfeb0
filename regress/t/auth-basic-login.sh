# Basic logins over TLS: anonymous /v2/ gets 401 with a Basic challenge
# and the spec's UNAUTHORIZED body, a wrong password 401, the right one
# 200 and the user in the access log; push and pull need the login.
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice 's3cret pass'
htpasswd_add bob hunter2
auth_start
C="--cacert $T/ca.crt"

http GET "$URL/v2/" $C
expect_challenge
check_eq "$(hdr WWW-Authenticate)" 'Basic realm="regd test"' "challenge"
http GET "$URL/v2/" $C -u 'alice:wrong'
expect_challenge
http GET "$URL/v2/" $C -u 'nobody:s3cret pass'
expect_challenge
http GET "$URL/v2/" $C -u 'alice:s3cret pass'
check_eq "$STATUS" 200 "/v2/ with the right password"
http GET "$URL/v2/" $C -H 'Authorization: Basic !!!not-base64'
expect_challenge
http GET "$URL/v2/" $C -H 'Authorization: Bearer abc'
expect_challenge

# Anonymous push is refused, alice's goes through, anonymous pull too.
make_blob 3000 "$T/b"
d=$(sha "$T/b")
http POST "$URL/v2/lib/x/blobs/uploads/?digest=$d" $C --data-binary "@$T/b"
expect_challenge
CURL_USER="alice:s3cret pass"
http POST "$URL/v2/lib/x/blobs/uploads/?digest=$d" $C -u "$CURL_USER" \
    --data-binary "@$T/b"
check_eq "$STATUS" 201 "alice pushes a blob"
http GET "$URL/v2/lib/x/blobs/$d" $C
expect_challenge
http GET "$URL/v2/lib/x/blobs/$d" $C -u "$CURL_USER"
check_eq "$STATUS" 200 "alice pulls the blob"
cmp -s "$BODY" "$T/b" || fail "pulled blob differs"
http GET "$URL/v2/lib/x/blobs/$d" $C -u "bob:hunter2"
check_eq "$STATUS" 200 "bob pulls the blob (no rules: any user)"

# Plain HTTP on the same server asks for the same login.
http GET "$PLAIN/v2/"
expect_challenge
regd_stop
grep -q ' alice \[' "$T/access.log" ||
    fail "alice not in the access log: $(tail -3 "$T/access.log")"
