#!/bin/bash
# regress: long 30
#
# regd and CNCF Distribution (Debian's docker-registry, its s3-aws
# driver) on one bucket and root of a throw-away radosgw: an image pushed
# through regd is served by Distribution, one pushed through Distribution
# (chunked) is served by regd, byte for byte, tags listed by both.  Skips
# when Ceph or docker-registry is not installed.

. regress/lib.sh

. regress/s3/s3lib.sh

s3_need docker-registry
DIST_PID=
s3_on_exit()
{
	[ -z "$DIST_PID" ] || kill "$DIST_PID" 2>/dev/null
	regd_stop 2>/dev/null
}
s3_up interop
S3_ROOT=/shared
export S3_ROOT

REGD_BACKEND=s3 regd_conf
regd_launch
REGD_URL=$URL

DPORT=$(free_port)
DIST_URL=http://127.0.0.1:$DPORT
cat > "$T/dist.yml" <<EOD
version: 0.1
log:
  level: info
storage:
  s3:
    accesskey: $S3_ACCESS_KEY
    secretkey: $S3_SECRET_KEY
    region: $S3_REGION
    regionendpoint: $S3_ENDPOINT
    forcepathstyle: true
    bucket: $S3_BUCKET
    rootdirectory: $S3_ROOT
    secure: false
    v4auth: true
    chunksize: 5242880
  redirect:
    disable: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$DPORT
EOD
env -u AWS_CA_BUNDLE docker-registry serve "$T/dist.yml" > "$T/dist.log" 2>&1 &
DIST_PID=$!
n=100
until curl -sf -o /dev/null "$DIST_URL/v2/"; do
	n=$((n - 1))
	[ "$n" -gt 0 ] && alive "$DIST_PID" ||
	    fail "docker-registry did not start: $(tail -n 20 "$T/dist.log")"
	sleep 0.1
done

# Through regd, then read by Distribution.
URL=$REGD_URL
push_image lib/fromregd v1
R_DIGEST=$IMG_DIGEST
R_LAYER=$IMG_LAYER
cp "$IMG_MANIFEST" "$T/r.manifest"
URL=$DIST_URL
http GET "$URL/v2/lib/fromregd/manifests/v1" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
check_eq "$STATUS" 200 "Distribution GETs regd's manifest: $(head -c 300 "$BODY")"
check_eq "$(hdr Docker-Content-Digest)" "$R_DIGEST" "its digest"
cmp -s "$BODY" "$T/r.manifest" || fail "Distribution: other manifest bytes"
http GET "$URL/v2/lib/fromregd/blobs/$R_LAYER"
check_eq "$STATUS" 200 "Distribution GETs regd's layer"
check_eq "$(sha "$BODY")" "$R_LAYER" "the layer's bytes"
http GET "$URL/v2/lib/fromregd/tags/list"
check_eq "$(json_get '.tags | join(",")')" v1 "Distribution lists regd's tag"

# Through Distribution (a chunked upload of 7 MiB), then read by regd.
make_blob $((7 * 1048576)) "$T/big"
BIG=$(sha "$T/big")
upload_start lib/fromdist
head -c 5242880 "$T/big" > "$T/big.1"
tail -c +5242881 "$T/big" > "$T/big.2"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: 0-5242879" --data-binary "@$T/big.1"
check_eq "$STATUS" 202 "Distribution: first PATCH"
LOC=$(loc_url "$(hdr Location)")
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: 5242880-$((7 * 1048576 - 1))" \
    --data-binary "@$T/big.2"
check_eq "$STATUS" 202 "Distribution: second PATCH"
LOC=$(loc_url "$(hdr Location)")
http PUT "$(add_query "$LOC" "digest=$BIG")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "Distribution: the upload completes"
# Distribution takes no body with the POST: POST, then PUT it.
dist_blob()
{
	upload_start lib/fromdist
	http PUT "$(add_query "$LOC" "digest=$(sha "$1")")" \
	    -H 'Content-Type: application/octet-stream' --data-binary "@$1"
	check_eq "$STATUS" 201 "Distribution: PUT of $1"
}
printf '{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' \
    > "$T/d.config"
make_blob 3000 "$T/d.layer"
dist_blob "$T/d.config"
dist_blob "$T/d.layer"
D_LAYER=$(sha "$T/d.layer")
jq -cn --arg c "$(sha "$T/d.config")" --argjson cs "$(stat -c %s "$T/d.config")" \
    --arg l "$D_LAYER" --argjson ls 3000 --arg b "$BIG" \
    --argjson bs $((7 * 1048576)) '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: $cs },
	layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
	    digest: $l, size: $ls },
	    { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
	    digest: $b, size: $bs } ]
    }' > "$T/d.manifest"
D_DIGEST=$(sha "$T/d.manifest")
push_manifest lib/fromdist v2 "$T/d.manifest" \
    application/vnd.oci.image.manifest.v1+json

URL=$REGD_URL
http GET "$URL/v2/lib/fromdist/manifests/v2" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
check_eq "$STATUS" 200 "regd GETs Distribution's manifest"
check_eq "$(hdr Docker-Content-Digest)" "$D_DIGEST" "its digest"
cmp -s "$BODY" "$T/d.manifest" || fail "regd: other manifest bytes"
http GET "$URL/v2/lib/fromdist/blobs/$D_LAYER"
check_eq "$STATUS" 200 "regd GETs Distribution's layer"
check_eq "$(sha "$BODY")" "$D_LAYER" "the layer's bytes"
http GET "$URL/v2/lib/fromdist/blobs/$BIG"
check_eq "$STATUS" 200 "regd GETs Distribution's chunked blob"
cmp -s "$BODY" "$T/big" || fail "the chunked blob: other bytes"
http GET "$URL/v2/lib/fromdist/tags/list"
check_eq "$(json_get '.tags | join(",")')" v2 "regd lists Distribution's tag"
http GET "$URL/v2/_catalog"
check_eq "$(json_get '.repositories | join(",")')" lib/fromdist,lib/fromregd \
    "regd's catalog of both"
exit 0
