#!/bin/bash
#
# The S3 backend's two data paths on a real radosgw (regress/s3/ceph.sh):
#
# - a push sends its multipart parts several at once while it takes
#   more bytes: radosgw's own log (its start time and latency of each
#   part's PUT) shows at least 3 parts of one upload in flight at the
#   same moment, which parts sent one after the other never can; a
#   chunked upload whose PATCHes end between parts, continued on a
#   second regd on the same bucket, still gives the right blob;
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
s3_on_exit()
{
	[ -z "${PID2:-}" ] || kill "$PID2" 2>/dev/null
	regd_stop 2>/dev/null
}
s3_up streams 1610612736

REGD_BACKEND=s3 S3_ROOT=/streams regd_conf
regd_launch
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
DATAKEY=/$S3_BUCKET/streams/docker/registry/v2/repositories/lib/big/_uploads/$UUID/data
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

# A chunked upload: 20 MiB, then 7 MiB (parts in flight at the end of a
# PATCH), continued on a second instance: 13 MiB and the last 1 MiB.
make_blob $((41 * 1048576)) "$T/chunked"
DC=$(sha "$T/chunked")
head -c $((20 * 1048576)) "$T/chunked" > "$T/c1"
tail -c +$((20 * 1048576 + 1)) "$T/chunked" | head -c $((7 * 1048576)) \
    > "$T/c2"
tail -c +$((27 * 1048576 + 1)) "$T/chunked" | head -c $((13 * 1048576)) \
    > "$T/c3"
tail -c +$((40 * 1048576 + 1)) "$T/chunked" > "$T/c4"
upload_start lib/chunked
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/c1"
check_eq "$STATUS" 202 "PATCH 1"
check_eq "$(hdr Range)" "0-$((20 * 1048576 - 1))" "Range after PATCH 1"
LOC=$(loc_url "$(hdr Location)")
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/c2"
check_eq "$STATUS" 202 "PATCH 2"
check_eq "$(hdr Range)" "0-$((27 * 1048576 - 1))" "Range after PATCH 2"
LOC=$(loc_url "$(hdr Location)")
# The second instance, same bucket and root, its own cache.
URL1=$URL
T1=$T
T=$T/two
mkdir -p "$T"
PORT=
URL=
REGD_BACKEND=s3 S3_ROOT=/streams regd_conf
REGD_PID1=$REGD_PID
regd_launch
PID2=$REGD_PID
URL2=$URL
LOC2=${LOC/$URL1/$URL2}
http PATCH "$LOC2" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T1/c3"
check_eq "$STATUS" 202 "PATCH 3 on the second instance"
check_eq "$(hdr Range)" "0-$((40 * 1048576 - 1))" "Range after PATCH 3"
LOC2=$(loc_url "$(hdr Location)")
http PUT "$(add_query "$LOC2" "digest=$DC")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T1/c4"
check_eq "$STATUS" 201 "last PUT on the second instance"
regd_stop
PID2=
T=$T1
URL=$URL1
REGD_PID=$REGD_PID1
http GET "$URL/v2/lib/chunked/blobs/$DC"
check_eq "$STATUS" 200 "GET of the chunked blob"
cmp -s "$BODY" "$T/chunked" || fail "the chunked blob: other bytes"

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
"$S3REQ" PUT "/$S3_BUCKET/streams/docker/registry/v2/blobs/sha256/${H:0:2}/$H/data" \
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
