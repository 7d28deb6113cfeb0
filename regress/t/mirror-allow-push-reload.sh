#!/bin/bash
# A mirror line with "allow push" takes pushes: an image pushed under
# the prefix is served back even though the upstream does not know its
# tag (tag ttl 0 asks every time), and a pull-through of the upstream's
# image beside it still works, also after a reload that moves the
# upstream to another address (the fetcher takes the new list).
. regress/lib.sh
. regress/mirrorlib.sh

mkdir -p "$T/up"
dreg_start "$T/up"
printf '{"architecture":"amd64","os":"linux"}' > "$T/config"
d=$(sha "$T/config")
up_blob lib/up "$T/config"

mirror_start "$DREG_URL" '	mirror "up" prefix "hub" allow push' '	tag ttl 0'
push_image hub/mine v1
for i in 1 2; do
	http GET "$URL/v2/hub/mine/manifests/v1" \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	check_eq "$STATUS" 200 "pushed tag, pull $i"
	check_eq "$(hdr Docker-Content-Digest)" "$IMG_DIGEST" "pushed digest"
done
http GET "$URL/v2/hub/lib/up/blobs/$d"
check_eq "$STATUS" 200 "pull-through beside it"
grep -q 'serving the cached' "$T/regd.log" &&
    fail "a tag pushed here was logged as a stale upstream copy"

# Reload onto an upstream address that refuses: the fetcher has it.
sed -i -e "s|url \"$DREG_URL\"|url \"http://127.0.0.1:1\"|" "$T/regd.conf"
$REGCTL reload > /dev/null || fail "reload"
printf '{"x":1}' > "$T/other"
http GET "$URL/v2/hub/lib/up/blobs/$(sha "$T/other")" --max-time 20
expect_error 503 UNAVAILABLE
grep -q "GET /v2/lib/up/blobs/$(sha "$T/other")" "$T/dreg.log" &&
    fail "the old upstream was asked after the reload"
http GET "$URL/v2/hub/lib/up/blobs/$d"
check_eq "$STATUS" 200 "cached blob after the reload"
regd_stop
