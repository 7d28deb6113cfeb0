#!/bin/bash
# Storage's figures on the metrics listener follow what storage does: an
# open upload session, a quota refusal, blobs and manifests stored, a GC
# run that sweeps, an fsck that finds a flipped byte, the free space.
. regress/lib.sh

MPORT=$(free_port)
regd_start "quota 64K on \"q/*\"
gc grace 0
metrics {
	listen on 127.0.0.1 port $MPORT
}"
MURL=http://127.0.0.1:$MPORT

# val NAME: the value of an unlabelled sample in a fresh scrape.
val()
{
	curl -sf "$MURL/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}

check_eq "$(val regd_uploads_in_progress)" 0 "uploads at start"
check_eq "$(val regd_quota_refusals_total)" 0 "quota refusals at start"
[ "$(val regd_storage_free_bytes)" -gt 0 ] || fail "no free bytes"
[ "$(val regd_storage_size_bytes)" -ge "$(val regd_storage_free_bytes)" ] ||
    fail "size below free"

http POST "$URL/v2/a/app/blobs/uploads/"
check_eq "$STATUS" 202 "upload session"
check_eq "$(val regd_uploads_in_progress)" 1 "uploads with a session open"
http DELETE "$(loc_url "$(hdr Location)")"
check_eq "$(val regd_uploads_in_progress)" 0 "uploads after a cancel"

make_blob 100000 "$T/big"
d=$(sha "$T/big")
http POST "$URL/v2/q/app/blobs/uploads/?digest=$d" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/big"
check_eq "$STATUS" 403 "push over the quota"
check_eq "$(val regd_quota_refusals_total)" 1 "quota refusals"

echo '{}' > "$T/cfg"
make_blob 2000 "$T/layer"
push_blob a/app "$T/cfg"
push_blob a/app "$T/layer"
jq -cn --arg c "$(sha "$T/cfg")" --arg l "$(sha "$T/layer")" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: 3 },
	layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar",
	    digest: $l, size: 2000 } ] }' > "$T/m"
push_manifest a/app v1 "$T/m" application/vnd.oci.image.manifest.v1+json
check_eq "$(val regd_blobs_stored_total)" 3 "blobs stored (2 + manifest)"
check_eq "$(val regd_manifests_stored_total)" 1 "manifests stored"

# A blob nothing references, swept by a GC.
make_blob 5000 "$T/loose"
push_blob a/app "$T/loose"
check_eq "$(val regd_gc_runs_total)" 0 "GC runs before"
out=$($REGCTL gc 2>&1) || fail "regctl gc: $out"
note "gc: $out"
check_eq "$(val regd_gc_runs_total)" 1 "GC runs"
check_eq "$(val regd_gc_swept_blobs_total)" 1 "blobs swept"
check_eq "$(val regd_gc_swept_bytes_total)" 5000 "bytes swept"
check_match "$(val regd_gc_last_duration_seconds)" '^[0-9]+\.[0-9]+$' \
    "last GC duration"
check_eq "$(val regd_blobs_removed_total)" 1 "blobs removed"
# Storage counts the bytes of every blob only when asked to (a quota on
# the whole store, regctl show usage), never for a scrape.
check_eq "$(val regd_storage_used_bytes)" "" "bytes used before a count"
out=$($REGCTL show usage 2>&1) || fail "regctl show usage: $out"
check_eq "$(val regd_storage_used_bytes)" $((3 + 2000 + $(wc -c < "$T/m"))) \
    "bytes used after regctl show usage"

out=$($REGCTL fsck 2>&1)
check_eq "$(val regd_fsck_runs_total)" 1 "fsck runs"
check_eq "$(val regd_fsck_last_findings)" 0 "fsck findings, clean"
l=$(sha "$T/layer")
f=$T/storage/docker/registry/v2/blobs/sha256/${l:7:2}/${l:7}/data
printf 'X' | dd of="$f" bs=1 seek=10 conv=notrunc 2>/dev/null
out=$($REGCTL fsck 2>&1)
note "fsck: $out"
check_eq "$(val regd_fsck_runs_total)" 2 "fsck runs"
check_eq "$(val regd_fsck_last_findings)" 1 "fsck findings, a flipped byte"
alive "$REGD_PID" || fail "regd died"
exit 0
