#!/bin/bash
#
# A pushed blob is served by GET with its exact bytes, Content-Length and
# Docker-Content-Digest, and by HEAD with the same headers and no body.

. ./regress/lib.sh

regd_start

make_blob 70000 "$T/blob"
d=$(sha "$T/blob")
push_blob lib/blobs "$T/blob"

http GET "$URL/v2/lib/blobs/blobs/$d"
check_eq "$STATUS" 200 "GET blob"
cmp -s "$BODY" "$T/blob" || fail "GET blob: body differs from what was pushed"
check_eq "$(hdr Content-Length)" 70000 "GET Content-Length"
check_eq "$(hdr Docker-Content-Digest)" "$d" "GET Docker-Content-Digest"

http HEAD "$URL/v2/lib/blobs/blobs/$d"
check_eq "$STATUS" 200 "HEAD blob"
check_eq "$(hdr Content-Length)" 70000 "HEAD Content-Length"
check_eq "$(hdr Docker-Content-Digest)" "$d" "HEAD Docker-Content-Digest"

# HEAD must not send the body: ask on a raw connection that the server
# closes, and look at every byte that comes back.
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "connect"
printf 'HEAD /v2/lib/blobs/blobs/%s HTTP/1.1\r\n%s\r\n%s\r\n\r\n' "$d" \
    'Host: 127.0.0.1' 'Connection: close' >&3
timeout 10 cat <&3 > "$T/raw" || fail "reading the HEAD answer timed out"
exec 3>&-
head -n 1 "$T/raw" | grep -q '^HTTP/1.1 200' ||
    fail "raw HEAD: $(head -n 1 "$T/raw")"
hsize=$(grep -c '' "$T/raw")
after=$(python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
i = b.find(b"\r\n\r\n")
print(-1 if i < 0 else len(b) - i - 4)' "$T/raw")
check_eq "$after" 0 "bytes after the HEAD answer's header ($hsize lines)"
exit 0
