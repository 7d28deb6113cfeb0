#!/bin/bash
# regress: long 40
#
# Two regd instances on one bucket and root (no shared disk): a chunked
# upload begun on one continues on the other after each PATCH, as behind
# a load balancer without sticky sessions, and the blob it makes, and a
# manifest naming it, are served by both.  The upload's state lives in
# the bucket (Distribution's _uploads keys, regd's record and hash
# state).
#
# Then the S3 backend's two data paths on the real radosgw:
# - a push sends its multipart parts several at once while it takes
#   more bytes: radosgw's own log (its start time and latency of each
#   part's PUT) shows at least 3 parts of one upload in flight at the
#   same moment, which parts sent one after the other never can;
# - a cold blob GET (not in the local cache) is streamed: the client has
#   its first bytes while the cache holds no file of the blob yet (the
#   client stops reading, so the rest cannot have come), then gets all
#   of it, and the cache keeps the file once its digest is proven; an
#   object whose bytes are not its digest's is cut short and not cached.
#
# Skips only when Ceph is not installed.

. regress/lib.sh

. regress/s3/s3lib.sh

s3_need python3
PID_B=
s3_on_exit()
{
	[ -z "$PID_B" ] || kill "$PID_B" 2>/dev/null
	regd_stop 2>/dev/null
}
s3_up shared 1610612736
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

# 3 chunks of 20, 7 and 1 MiB: A, B, A, then the PUT on B.  The PATCHes
# end between multipart parts of 8 MiB, and the 20 MiB leaves parts in
# flight at the end of its PATCH.
make_blob $((28 * 1048576)) "$T/blob"
D=$(sha "$T/blob")
head -c $((20 * 1048576)) "$T/blob" > "$T/c1"
tail -c +$((20 * 1048576 + 1)) "$T/blob" | head -c $((7 * 1048576)) > "$T/c2"
tail -c +$((27 * 1048576 + 1)) "$T/blob" > "$T/c3"
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

# The S3 backend's two data paths, on instance A: a push sends its
# multipart parts several at once while it takes more bytes, and a cold
# blob GET is streamed while the cache fills.
RGWLOG=$CEPH_DIR/log/client.rgw.a.log
# The most part PUTs of key $1 in flight at once, from radosgw's log:
# "[dd/Mon/yyyy:hh:mm:ss.mmm +0000] "PUT ...&partNumber=..." ...
# latency=S.s".
parts_at_once()
{
	grep -F "\"PUT $1?" "$RGWLOG" | grep -F partNumber= | awk '
	{
		match($0, /\[[^]]*\]/)
		split(substr($0, RSTART + 1, RLENGTH - 2), d, /[: ]/)
		s = d[2] * 3600 + d[3] * 60 + d[4]
		match($0, /latency=[0-9.]+/)
		l = substr($0, RSTART + 8, RLENGTH - 8)
		n++
		b[n] = s
		e[n] = s + l
	}
	END {
		max = 0
		for (i = 1; i <= n; i++) {
			c = 0
			for (j = 1; j <= n; j++)
				if (b[j] <= b[i] && e[j] > b[i])
					c++
			if (c > max)
				max = c
		}
		print max + 0
	}'
}

# A 40 MiB push in one PUT: 5 parts of 8 MiB.
make_blob $((40 * 1048576)) "$T/big"
D=$(sha "$T/big")
upload_start lib/big
UUID=${LOC##*/uploads/}
UUID=${UUID%%\?*}
http PUT "$(add_query "$LOC" "digest=$D")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/big"
check_eq "$STATUS" 201 "40 MiB push"
DATAKEY=/$S3_BUCKET/two/docker/registry/v2/repositories/lib/big/_uploads/$UUID/data
n=0
while [ "$n" -lt 50 ] && ! grep -F "\"PUT $DATAKEY?" "$RGWLOG" |
    grep -q 'partNumber=5[ &]'; do
	sleep 0.1
	n=$((n + 1))
done
AT_ONCE=$(parts_at_once "$DATAKEY")
note "parts of the push in flight at once: $AT_ONCE"
[ "$AT_ONCE" -ge 3 ] ||
    fail "parts sent one by one: $AT_ONCE at once at most"

# A cold GET of the 40 MiB blob by a client that stops after 256 KiB:
# it has them while the cache has no file of the blob.
CACHED=$T/storage/sha256-${D#sha256:}
[ ! -e "$CACHED" ] || fail "the blob is in the cache before any GET"
mkfifo "$T/go"
python3 - "${URL#http://}" "/v2/lib/big/blobs/$D" "$T/first" "$T/go" \
    "$T/all" <<'EOF' &
import socket, sys
host, port = sys.argv[1].split(":")
s = socket.create_connection((host, int(port)))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    % sys.argv[2]).encode())
buf = b""
while b"\r\n\r\n" not in buf or len(buf) < 256 * 1024 + 4096:
    d = s.recv(65536)
    if not d:
        break
    buf += d
head, body = buf.split(b"\r\n\r\n", 1)
open(sys.argv[3], "w").write(head.decode().split("\r\n")[0] + "\n")
open(sys.argv[4]).read()
with open(sys.argv[5], "wb") as f:
    f.write(body)
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        f.write(d)
EOF
cpid=$!
n=0
while [ ! -s "$T/first" ] && [ "$n" -lt 600 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ -s "$T/first" ] || fail "no first bytes of the cold GET in 60 s"
check_match "$(cat "$T/first")" "^HTTP/1.1 200" "cold GET status"
if [ -e "$CACHED" ]; then
	echo go > "$T/go"
	wait "$cpid"
	fail "the blob was all in the cache before the client had 256 KiB"
fi
echo go > "$T/go"
wait "$cpid" || fail "the cold GET's client failed"
cmp -s "$T/all" "$T/big" || fail "the cold GET: other bytes"
n=0
while [ ! -e "$CACHED" ] && [ "$n" -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ -e "$CACHED" ] || fail "the cache has no file of the blob after the GET"
check_eq "$(sha "$CACHED")" "$D" "digest of the cached file"
ls "$T/storage" | grep -q '^tmp\.' && fail "a temporary file is left"
http GET "$URL/v2/lib/big/blobs/$D"
check_eq "$STATUS" 200 "warm GET"
cmp -s "$BODY" "$T/big" || fail "the warm GET: other bytes"

# An object that does not hold its digest's bytes: cut short, not cached.
make_blob $((3 * 1048576)) "$T/bad"
DB=$(sha "$T/bad")
push_blob lib/big "$T/bad"
H=${DB#sha256:}
printf 'X' | dd of="$T/bad" bs=1 seek=$((3 * 1048576 - 1)) conv=notrunc \
    2>/dev/null
"$S3REQ" PUT "/$S3_BUCKET/two/docker/registry/v2/blobs/sha256/${H:0:2}/$H/data" \
    "$T/bad" -- -s -f -o /dev/null || fail "overwriting the object"
st=$(curl -s -o "$T/badget" -w '%{http_code}' "$URL/v2/lib/big/blobs/$DB")
rc=$?
if [ "$st" = 200 ]; then
	[ "$rc" -ne 0 ] || fail "a blob that fails its digest came whole"
	[ "$(stat -c %s "$T/badget")" -lt $((3 * 1048576)) ] ||
	    fail "all bytes of a blob that fails its digest were sent"
fi
[ ! -e "$T/storage/sha256-$H" ] || fail "a blob that fails its digest is cached"
exit 0
