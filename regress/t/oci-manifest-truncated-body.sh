#!/bin/bash
#
# A manifest PUT whose client announces more bytes than it sends and then
# hangs up stores nothing: no tag, no manifest under the digest of the
# whole or of the part sent.

. ./regress/lib.sh

regd_start

push_image lib/trunc v1
type=application/vnd.oci.image.manifest.v1+json
jq -c '.annotations = { "x": "truncated" }' "$IMG_MANIFEST" > "$T/m"
size=$(stat -c %s "$T/m")
half=$((size / 2))
head -c "$half" "$T/m" > "$T/half"

python3 - "$PORT" "$size" "$T/half" "$type" <<'PY' || fail "python3 client"
import socket, sys, time
port, total, fname, ctype = sys.argv[1:5]
data = open(fname, "rb").read()
s = socket.create_connection(("127.0.0.1", int(port)))
s.sendall(("PUT /v2/lib/trunc/manifests/cut HTTP/1.1\r\n"
    "Host: 127.0.0.1:%s\r\nContent-Type: %s\r\n"
    "Content-Length: %s\r\n\r\n" % (port, ctype, total)).encode())
s.sendall(data)
time.sleep(0.3)
s.close()
PY
sleep 0.5

http GET "$URL/v2/lib/trunc/manifests/cut" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "GET of the tag of the truncated PUT"
http GET "$URL/v2/lib/trunc/manifests/$(sha "$T/m")" \
    -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "GET by digest of the whole manifest"
http GET "$URL/v2/lib/trunc/manifests/$(sha "$T/half")" \
    -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "GET by digest of the part sent"
http GET "$URL/v2/lib/trunc/tags/list"
check_eq "$STATUS" 200 "tags list"
check_eq "$(json_get '.tags | join(",")')" v1 "tags after the truncated PUT"

# The whole manifest still goes in properly afterwards.
put_manifest_ok lib/trunc cut "$T/m" "$type"
check_manifest lib/trunc cut "$T/m" "$type"
exit 0
