# "from address" rules match the client's address or network: from
# 127.0.0.2 (inside 127.0.0.2/31) an anonymous client may push, from
# 127.0.0.1 it is asked to log in; a deny by address before alice's allow
# refuses even her (first match wins).
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice apass
auth_start '	allow pull from any
	allow push on "lab/*" from address "127.0.0.2/31"
	deny push from address "127.0.0.0/8"
	allow push from user "alice"'
export CURL_HOME=$T
printf 'cacert = "%s"\ninterface = "127.0.0.2"\n' "$T/ca.crt" > "$T/.curlrc"
push_image lab/one v1
http POST "$URL/v2/other/blobs/uploads/"
expect_challenge
printf 'cacert = "%s"\ninterface = "127.0.0.1"\n' "$T/ca.crt" > "$T/.curlrc"
http POST "$URL/v2/lab/one/blobs/uploads/"
expect_challenge
http GET "$URL/v2/lab/one/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 200 "anonymous pull from 127.0.0.1"
# The deny from 127.0.0.0/8 comes before alice's allow: first match wins.
http POST "$URL/v2/lab/one/blobs/uploads/" -u alice:apass
expect_error 403 DENIED
regd_stop
