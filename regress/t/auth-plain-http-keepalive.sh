# Basic logins on a server without TLS (OpenSSL then is first used for
# the credentials cache, which must not need files in the sandbox): a
# keep-alive stream of authenticated requests is served on one
# connection, and no frontend dies.
. regress/lib.sh
. regress/authlib.sh

htpasswd -Bbn -C 10 carol 'pass word' > "$T/htpasswd"
regd_conf "" "	authenticate with \"$T/htpasswd\"
	allow pull from any"
regd_launch_any
cred=$(printf 'carol:pass word' | base64)
: > "$T/req"
for i in 1 2 3 4 5; do
	printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n' \
	    "$cred" >> "$T/req"
done
printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >> "$T/req"
raw_http "$T/req" 5
check_eq "$RAW_NRESP" 6 "answers on one connection"
check_eq "$(cut -d' ' -f1 "$T/raw.resp" | tr '\n' ' ')" \
    "200 200 200 200 200 401 " "statuses"
grep -q 'died' "$T/regd.log" && fail "a frontend died: $(grep died "$T/regd.log")"
regd_stop
