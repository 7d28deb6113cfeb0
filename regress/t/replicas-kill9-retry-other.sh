# Two regd on one shared store: instance 1 is killed with SIGKILL in the
# middle of a PATCH.  What it acknowledged before (an image, the first
# PATCH of an upload) is all there on instance 2; the client asks
# instance 2 where the upload stands, sends the rest there and the blob
# is whole.  Then skopeo pushes through nginx while instance 1 is killed
# again mid-push, and its retry through the balancer succeeds: the image
# pulls back complete from instance 2.
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh

replica_start 1
replica_start 2

# Acknowledged before the kill: an image and the first 3 MB of a blob.
URL=${RURL[1]}
push_image lib/k9 before
before=$IMG_DIGEST
make_blob $((12 * 1024 * 1024)) "$T/blob"
d=$(sha "$T/blob")
head -c $((3 * 1024 * 1024)) "$T/blob" > "$T/first"
tail -c +$((3 * 1024 * 1024 + 1)) "$T/blob" > "$T/rest"
upload_start lib/k9
path=${LOC#http://127.0.0.1:*/}
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: 0-$((3 * 1024 * 1024 - 1))" --data-binary "@$T/first"
check_eq "$STATUS" 202 "first PATCH on instance 1"

# The second PATCH, slowly, and instance 1 killed while it streams.
curl -s -o /dev/null --limit-rate 1M -X PATCH \
    -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: $((3 * 1024 * 1024))-$((12 * 1024 * 1024 - 1))" \
    --data-binary "@$T/rest" "${RURL[1]}/$path" &
cpid=$!
sleep 2
replica_kill 1
wait $cpid

# Instance 2: where does the upload stand?  At least what was acknowledged.
http GET "${RURL[2]}/$path"
check_eq "$STATUS" 204 "status on instance 2 after the kill"
range=$(hdr Range)
off=$(( ${range#0-} + 1 ))
[ "$off" -ge $((3 * 1024 * 1024)) ] ||
    fail "acknowledged bytes lost: upload at $off"
note "upload at $off bytes after the kill (3 MiB acknowledged)"
tail -c +$((off + 1)) "$T/blob" > "$T/tail"
http PATCH "${RURL[2]}/$path" -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: $off-$((12 * 1024 * 1024 - 1))" --data-binary "@$T/tail"
check_eq "$STATUS" 202 "the rest on instance 2: $(head -c 300 "$BODY")"
loc=$(hdr Location)
http PUT "$(add_query "${RURL[2]}$loc" "digest=$d")" -H 'Content-Length: 0'
check_eq "$STATUS" 201 "PUT on instance 2: $(head -c 300 "$BODY")"
http GET "${RURL[2]}/v2/lib/k9/blobs/$d"
cmp -s "$BODY" "$T/blob" || fail "blob differs after the retry"
http GET "${RURL[2]}/v2/lib/k9/manifests/before" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
check_eq "$STATUS" 200 "image acknowledged before the kill"
check_eq "$(hdr Docker-Content-Digest)" "$before" "its digest"

# skopeo through nginx, instance 1 killed mid-push, retried.
command -v skopeo >/dev/null || { note "skopeo missing: part 2 skipped"; exit 0; }
printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"
replica_start 1
replicas_balance
make_oci_layout "$T/src" multi amd64 arm64
idigest=$(jq -r '.manifests[0].digest' "$T/src/index.json")
: > "$T/r1/access.log"
skopeo --policy "$T/policy.json" copy --all --dest-tls-verify=false \
    "oci:$T/src:multi" "docker://127.0.0.1:$NPORT/lib/k9multi:v1" \
    > "$T/push1.log" 2>&1 &
spid=$!
n=0
until grep -q '/v2/lib/k9multi/blobs/uploads/' "$T/r1/access.log"; do
	n=$((n + 1))
	[ $n -lt 300 ] || fail "instance 1 saw no upload"
	sleep 0.01
done
replica_kill 1
if wait $spid; then
	note "first skopeo push survived the kill (nginx moved it)"
else
	note "first skopeo push failed with the kill: $(tail -1 "$T/push1.log")"
fi
skopeo --policy "$T/policy.json" copy --all --dest-tls-verify=false \
    "oci:$T/src:multi" "docker://127.0.0.1:$NPORT/lib/k9multi:v1" \
    > "$T/push2.log" 2>&1 || fail "retry through the balancer: $(cat "$T/push2.log")"
skopeo --policy "$T/policy.json" copy --all --src-tls-verify=false \
    "docker://127.0.0.1:${RPORT[2]}/lib/k9multi:v1" "oci:$T/back:v1" \
    > "$T/pull.log" 2>&1 || fail "pull from instance 2: $(cat "$T/pull.log")"
check_eq "$(jq -r '.manifests[0].digest' "$T/back/index.json")" "$idigest" \
    "index digest pulled from instance 2"
for f in "$T"/src/blobs/sha256/*; do
	cmp -s "$f" "$T/back/blobs/sha256/${f##*/}" ||
	    fail "blob ${f##*/} differs"
done
exit 0
