#!/bin/bash
#
# Two regd instances on one bucket and root (no shared disk): a chunked
# upload begun on one continues on the other after each PATCH, as behind
# a load balancer without sticky sessions, and the blob it makes, and a
# manifest naming it, are served by both.  The upload's state lives in
# the bucket (Distribution's _uploads keys, regd's record and hash
# state).  Skips only when Ceph is not installed.

. regress/lib.sh

. regress/s3/s3lib.sh

s3_need
PID_B=
s3_on_exit()
{
	[ -z "$PID_B" ] || kill "$PID_B" 2>/dev/null
	regd_stop 2>/dev/null
}
s3_up shared
S3_ROOT=/two
export S3_ROOT

# Instance B: its own directory, cache, socket and port.
mkdir -p "$T/b/storage"
[ "$REGD_ROOT" -eq 0 ] || chown -R _regd "$T/b/storage"
PORT_B=$(free_port)
(umask 077; printf '%s\n' "$S3_SECRET_KEY" > "$T/b/s3.secret")
cat > "$T/b/regd.conf" <<EOC
storage s3 {
	endpoint "$S3_ENDPOINT"
	region "$S3_REGION"
	bucket "$S3_BUCKET"
	root "$S3_ROOT"
	access key "$S3_ACCESS_KEY"
	secret file "$T/b/s3.secret"
	cache "$T/b/storage" size 64M
}
socket "$T/b/regd.sock"
prefork 2
log access "$T/b/access.log"
server "b" {
	listen on 127.0.0.1 port $PORT_B
}
EOC
"$REGD" -d -f "$T/b/regd.conf" > "$T/b/regd.log" 2>&1 &
PID_B=$!
URL_B=http://127.0.0.1:$PORT_B

REGD_BACKEND=s3 regd_conf
regd_launch
URL_A=$URL
n=100
until curl -sf -o /dev/null "$URL_B/v2/"; do
	n=$((n - 1))
	[ "$n" -gt 0 ] || fail "instance B: $(tail -n 20 "$T/b/regd.log")"
	sleep 0.1
done

# 3 chunks of 6, 6 and 2 MiB: A, B, A, then the PUT on B.
make_blob $((14 * 1048576)) "$T/blob"
D=$(sha "$T/blob")
head -c $((6 * 1048576)) "$T/blob" > "$T/c1"
tail -c +$((6 * 1048576 + 1)) "$T/blob" | head -c $((6 * 1048576)) > "$T/c2"
tail -c +$((12 * 1048576 + 1)) "$T/blob" > "$T/c3"
URL=$URL_A
upload_start lib/two
path=${LOC#"$URL_A"}
off=0
i=0
for c in c1 c2 c3; do
	if [ $((i % 2)) -eq 0 ]; then u=$URL_A; else u=$URL_B; fi
	len=$(stat -c %s "$T/$c")
	http PATCH "$u$path" -H 'Content-Type: application/octet-stream' \
	    -H "Content-Range: $off-$((off + len - 1))" \
	    --data-binary "@$T/$c"
	check_eq "$STATUS" 202 "PATCH $c on instance $((i % 2)): $(head -c 300 "$BODY")"
	check_eq "$(hdr Range)" "0-$((off + len - 1))" "Range after $c"
	l=$(hdr Location)
	path=${l#http://*/}
	path=/${path#/}
	off=$((off + len))
	i=$((i + 1))
done
case $path in
*\?*) q="$path&digest=$D" ;;
*) q="$path?digest=$D" ;;
esac
http PUT "$URL_B$q" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "PUT on instance B: $(head -c 300 "$BODY")"

for u in "$URL_A" "$URL_B"; do
	http GET "$u/v2/lib/two/blobs/$D"
	check_eq "$STATUS" 200 "the blob from $u"
	cmp -s "$BODY" "$T/blob" || fail "the blob from $u: other bytes"
done
URL=$URL_B
push_image lib/two v1
URL=$URL_A
http GET "$URL/v2/lib/two/manifests/$IMG_DIGEST" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
check_eq "$STATUS" 200 "A serves the manifest B took"
exit 0
