# Two regd on one shared store: the writer's side of the gc protocol.
# While another instance's gc lease says "sweep", a manifest PUT waits
# after writing its revision link; when the sweep ends it checks its
# blobs again.  Here the "sweep" removes a layer the manifest names
# (the blob's files taken away by the test, as a sweep would): the PUT
# is refused with MANIFEST_BLOB_UNKNOWN and its link taken back, so no
# acknowledged manifest lacks a blob.  With the layer there, the PUT
# waits for the sweep's end and then succeeds.
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh

[ "${REGD_BACKEND:-fs}" = fs ] || skip "plays the sweeping instance itself"
replica_start 1
replica_start 2
v2=$T/storage/docker/registry/v2
lease=$v2/_regd/gc.lease
mtype=application/vnd.oci.image.manifest.v1+json
URL=${RURL[2]}

image()
{
	mkdir -p "$T/$1"
	printf '{"os":"linux","n":"%s"}' "$1" > "$T/$1/config"
	make_blob 2000 "$T/$1/layer"
	push_blob lib/wait "$T/$1/config"
	push_blob lib/wait "$T/$1/layer"
	jq -cn --arg c "$(sha "$T/$1/config")" \
	    --argjson cs "$(stat -c %s "$T/$1/config")" \
	    --arg l "$(sha "$T/$1/layer")" \
	    --argjson ls "$(stat -c %s "$T/$1/layer")" --arg mt "$mtype" \
	    '{ schemaVersion: 2, mediaType: $mt, config: { mediaType:
	    "application/vnd.oci.image.config.v1+json", digest: $c,
	    size: $cs }, layers: [ { mediaType:
	    "application/vnd.oci.image.layer.v1.tar", digest: $l,
	    size: $ls } ] }' > "$T/$1/manifest"
}

sweep_lease()
{
	mkdir -p "${lease%/*}"
	printf 'regd-gc 0123456789abcdef0123456789abcdef sweep 4242\n' > "$lease"
	[ "$REGD_ROOT" -eq 1 ] && chown -R _regd "$T/storage"
}

# 1: the sweep removes the layer while the PUT waits.
image one
l=$(sha "$T/one/layer" | cut -c8-)
sweep_lease
t0=$(date +%s%3N)
curl -s -o "$T/put1" -w '%{http_code}' -X PUT -H "Content-Type: $mtype" \
    --data-binary "@$T/one/manifest" "$URL/v2/lib/wait/manifests/one" \
    > "$T/code1" &
cpid=$!
sleep 1
rm -rf "$v2/blobs/sha256/${l:0:2}/$l"
rm -f "$lease"
wait $cpid
ms=$(( $(date +%s%3N) - t0 ))
check_eq "$(cat "$T/code1")" 400 "PUT whose layer was swept: $(cat "$T/put1")"
grep -q MANIFEST_BLOB_UNKNOWN "$T/put1" || fail "error code: $(cat "$T/put1")"
[ "$ms" -ge 900 ] || fail "the PUT did not wait for the sweep ($ms ms)"
m=$(sha "$T/one/manifest")
for n in 1 2; do
	http GET "${RURL[$n]}/v2/lib/wait/manifests/$m" -H "Accept: $mtype"
	check_eq "$STATUS" 404 "refused manifest by digest on instance $n"
	http GET "${RURL[$n]}/v2/lib/wait/manifests/one" -H "Accept: $mtype"
	check_eq "$STATUS" 404 "refused manifest by tag on instance $n"
done
[ -e "$v2/repositories/lib/wait/_manifests/revisions/sha256/${m#sha256:}/link" ] &&
    fail "the refused manifest's revision link stayed"

# 2: the sweep leaves the layer: the PUT waits, then succeeds.
image two
sweep_lease
t0=$(date +%s%3N)
( sleep 1; rm -f "$lease" ) &
push_manifest lib/wait two "$T/two/manifest" "$mtype"
ms=$(( $(date +%s%3N) - t0 ))
[ "$ms" -ge 900 ] || fail "the PUT did not wait for the sweep ($ms ms)"
note "manifest PUTs waited $ms ms for a 1 s sweep"
http GET "${RURL[1]}/v2/lib/wait/manifests/two" -H "Accept: $mtype"
check_eq "$STATUS" 200 "manifest pushed after the sweep, on instance 1"
exit 0
