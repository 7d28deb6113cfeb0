# Debian's nginx in front of regd ("trusted proxy 127.0.0.1"): logins,
# push (monolithic and chunked, relative Locations) and pull go through
# it; the access log shows the client address nginx forwarded, while the
# same header from an untrusted peer is ignored.
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice apass
regd_conf "" "	authenticate \"regd\" with \"$T/htpasswd\"
	allow pull from any
	allow push from user \"alice\"
	trusted proxy 127.0.0.1"
regd_launch_any
DIRECT=$URL

NPORT=$(free_port)
nginx_start "	server {
		listen 127.0.0.1:$NPORT;
		client_max_body_size 0;
		chunked_transfer_encoding on;
		location /v2/ {
			proxy_pass http://127.0.0.1:$PORT;
			proxy_http_version 1.1;
			proxy_set_header Host \$http_host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto \$scheme;
			proxy_set_header X-Forwarded-Host \$http_host;
			proxy_request_buffering off;
			proxy_buffering off;
			proxy_read_timeout 300;
		}
	}"

# Clients come from 127.0.0.2: nginx forwards that address.
URL=http://127.0.0.1:$NPORT
export CURL_HOME=$T
printf 'interface = "127.0.0.2"\n' > "$T/.curlrc"
http GET "$URL/v2/"
expect_challenge
printf 'interface = "127.0.0.2"\nuser = "alice:apass"\n' > "$T/.curlrc"
http GET "$URL/v2/"
check_eq "$STATUS" 200 "login through nginx"
push_image lib/proxied v1
check_manifest lib/proxied v1 "$IMG_MANIFEST" \
    application/vnd.oci.image.manifest.v1+json
make_blob 70000 "$T/chunked"
upload_start lib/proxied
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/chunked"
check_eq "$STATUS" 202 "PATCH through nginx"
LOC=$(loc_url "$(hdr Location)")
http PUT "$(add_query "$LOC" "digest=$(sha "$T/chunked")")"
check_eq "$STATUS" 201 "PUT through nginx"
printf 'interface = "127.0.0.2"\n' > "$T/.curlrc"
http GET "$URL/v2/lib/proxied/blobs/$(sha "$T/chunked")"
check_eq "$STATUS" 200 "anonymous pull through nginx"
cmp -s "$BODY" "$T/chunked" || fail "blob differs through nginx"

# Straight to regd from 127.0.0.2 with a forged header: not believed.
http GET "$DIRECT/v2/lib/proxied/tags/list" -H 'X-Forwarded-For: 198.51.100.9'
check_eq "$STATUS" 200 "direct tag list"
regd_stop
grep -q '^127\.0\.0\.1:[0-9]* 127\.0\.0\.2 alice .*"PUT /v2/lib/proxied/manifests/v1' \
    "$T/access.log" || fail "forwarded address not logged: $(grep PUT "$T/access.log" | head -2)"
grep -q ' 198\.51\.100\.9 ' "$T/access.log" &&
    fail "a forged X-Forwarded-For was believed"
grep -q '^127\.0\.0\.1:[0-9]* 127\.0\.0\.2 - .*tags/list' "$T/access.log" ||
    fail "direct request not logged with its peer: $(grep tags/list "$T/access.log")"
exit 0
