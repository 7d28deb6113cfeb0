#!/bin/bash
# A hostile upstream cannot send the fetcher to internal addresses.  The
# upstream is nginx on this machine's non-loopback address, in front of
# Distribution; its blobs redirect (307) to 127.0.0.1, to "localhost"
# (a name: the address it resolves to is what counts) and to the cloud
# metadata address 169.254.169.254.  Each pull gets the spec's JSON
# error, and the fetcher connected to none of them (the loopback target
# is a second nginx server, its access log empty).  With "redirect
# private yes" the same loopback redirect is followed.
. regress/lib.sh
. regress/authlib.sh

IP=$(ip -4 -o addr show scope global 2>/dev/null |
    awk '{ sub(/\/.*/, "", $4); print $4; exit }')
[ -n "$IP" ] || IP=$(hostname -I 2>/dev/null | tr ' ' '\n' |
    grep -v -e '^127\.' -e : | head -n 1)
[ -n "$IP" ] || fail "no non-loopback IPv4 address on this machine"
case $IP in
127.*|169.254.*)
	fail "$IP is not an address of another class than the targets"
	;;
esac

mkdir -p "$T/up"
dreg_start "$T/up"
NPORT=$(free_port)
XPORT=$(free_port)
nginx_start "
	server {
		listen $IP:$XPORT;
		location ~ ^/v2/lib/a/blobs/sha256: {
			return 307 http://127.0.0.1:$NPORT\$request_uri;
		}
		location ~ ^/v2/lib/b/blobs/sha256: {
			return 307 http://localhost:$NPORT\$request_uri;
		}
		location ~ ^/v2/lib/c/blobs/sha256: {
			return 307 http://169.254.169.254/latest/meta-data/;
		}
		location / {
			proxy_pass $DREG_URL;
		}
	}
	server {
		listen 127.0.0.1:$NPORT;
		access_log $T/nginx/internal.log;
		location / {
			proxy_pass $DREG_URL;
		}
	}"

make_blob 100000 "$T/blob"
D=$(sha "$T/blob")
for r in a b c; do
	loc=$(curl -sf -X POST -D - -o /dev/null \
	    "$DREG_URL/v2/lib/$r/blobs/uploads/" | tr -d '\r' |
	    awk -F': ' 'tolower($1) == "location" { print $2 }')
	case $loc in
	http*) ;;
	*) loc=$DREG_URL$loc ;;
	esac
	code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
	    -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$T/blob" "$(add_query "$loc" "digest=$D")")
	check_eq "$code" 201 "seeding lib/$r"
done

UPSTREAM="upstream \"hostile\" {
	url \"http://$IP:$XPORT\"
	timeout 5s
"
regd_start "$UPSTREAM}" '	mirror "hostile"'

for r in a b c; do
	http GET "$URL/v2/lib/$r/blobs/$D"
	expect_error 503 UNAVAILABLE
	check_match "$(json_get '.errors[0].message')" 'internal address' \
	    "lib/$r: the error says why"
done
n=$(grep -c 'internal address, refused' "$T/regd.log")
check_eq "$n" 3 "refusals logged"
# (nginx_start's probe of /v2/ may be logged late: not counted)
check_eq "$(grep -c /v2/lib/ "$T/nginx/internal.log")" 0 \
    "requests at the loopback target"
# The upstream did redirect: three 307s.
check_eq "$(grep -c ' 307 ' "$T/nginx/access.log")" 3 "307s sent"

# Allowed for this upstream: the loopback redirect is followed.
regd_conf "$UPSTREAM	redirect private yes
}" '	mirror "hostile"'
$REGCTL reload > /dev/null || fail "reload"
n=50
while :; do
	http GET "$URL/v2/lib/a/blobs/$D"
	[ "$STATUS" = 200 ] && break
	n=$((n - 1))
	[ $n -gt 0 ] || break
	sleep 0.1
done
check_eq "$STATUS" 200 "lib/a with redirect private yes"
cmp -s "$BODY" "$T/blob" || fail "lib/a: bytes differ"
check_eq "$(grep -c "GET /v2/lib/a/blobs/$D" "$T/nginx/internal.log")" 1 \
    "GETs at the loopback target"
regd_stop
