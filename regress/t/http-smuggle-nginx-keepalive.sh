#!/bin/bash
# regress: long 30
# Debian's nginx with upstream keepalive in front of regd ("trusted proxy
# 127.0.0.1", deletes allowed only from 127.0.0.1, the proxy itself).  An
# outside client (127.0.0.2) sends requests regd answers before reading
# their body (unknown endpoint, bad name, too long tag); the body is a
# DELETE that would arrive from the proxy's address if regd parsed it as
# the next request on the kept-alive upstream connection.  The manifest
# must survive, and requests through nginx keep working.
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice apass
regd_conf "" "	authenticate \"regd\" with \"$T/htpasswd\"
	allow pull from any
	allow push from user \"alice\"
	allow delete from address \"127.0.0.1\"
	trusted proxy 127.0.0.1"
regd_launch_any
DIRECT=$URL

NPORT=$(free_port)
nginx_start "	upstream regd {
		server 127.0.0.1:$PORT;
		keepalive 4;
	}
	server {
		listen 127.0.0.1:$NPORT;
		client_max_body_size 0;
		location /v2/ {
			proxy_pass http://regd;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
			proxy_set_header Host \$http_host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_request_buffering off;
			proxy_buffering off;
		}
		location / {
			proxy_pass http://regd;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
			proxy_set_header Host \$http_host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
		}
	}"

NURL=http://127.0.0.1:$NPORT
export CURL_HOME=$T
printf 'interface = "127.0.0.2"\nuser = "alice:apass"\n' > "$T/.curlrc"
URL=$NURL
push_image lib/victim v1
printf 'interface = "127.0.0.2"\n' > "$T/.curlrc"
# The outside client may not delete.
http DELETE "$NURL/v2/lib/victim/manifests/v1"
check_match "$STATUS" '^40[13]$' "DELETE from outside"

printf 'DELETE /v2/lib/victim/manifests/v1 HTTP/1.1\r\nHost: x\r\n\r\n' > "$T/smug"
long=$(head -c 300 /dev/zero | tr '\0' a)
longtag=$(head -c 200 /dev/zero | tr '\0' t)
for i in 1 2 3; do
	for target in /nope /v2/nope /v2/Bad_Name/blobs/uploads/ \
	    "/v2/$long/blobs/uploads/" "/v2/lib/victim/manifests/$longtag"; do
		# Several in a row: nginx reuses its upstream connection.
		curl -s -o /dev/null --max-time 10 -X POST \
		    --data-binary "@$T/smug" "$NURL$target"
		curl -s -o /dev/null --max-time 10 "$NURL/v2/"
		curl -s -o /dev/null --max-time 10 "$NURL/v2/lib/victim/tags/list"
	done
done
http GET "$NURL/v2/lib/victim/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 200 "manifest after the smuggling attempts"
grep -q '"DELETE /v2/lib/victim/manifests/v1 HTTP/1.1" 202' "$T/access.log" &&
    fail "a smuggled DELETE ran"
# From the proxy's own address (the rule's purpose) a delete works.
URL=$DIRECT
http DELETE "$DIRECT/v2/lib/victim/manifests/v1" --interface 127.0.0.1
check_eq "$STATUS" 202 "DELETE from 127.0.0.1 itself"
exit 0
