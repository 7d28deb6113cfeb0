#!/bin/bash
#
# Storage answers 404 only when a file is not there (ENOENT, ENOTDIR).
# A blob, manifest or upload that exists but cannot be opened (here:
# mode 000, which stops the unprivileged storage user) is the
# registry's fault: 500 UNKNOWN, with the errno in the log, never a
# "does not exist" that a client would act on.

. ./regress/lib.sh

[ "$REGD_ROOT" -eq 1 ] || [ "$(id -u)" -ne 0 ] ||
    skip "needs the storage user to be stopped by mode 000"
regd_start
V2=$T/storage/docker/registry/v2

make_blob 2000 "$T/b"
push_blob e/x "$T/b"
d=$(sha "$T/b")
h=${d#sha256:}
chmod 000 "$V2/blobs/sha256/${h:0:2}/$h/data"
http GET "$URL/v2/e/x/blobs/$d"
check_eq "$STATUS" 500 "GET of an unreadable blob"
check_eq "$(json_get '.errors[0].code')" UNKNOWN "its error code"
http GET "$URL/v2/e/x/blobs/sha256:$(printf '%064d' 0)"
check_eq "$STATUS" 404 "GET of a missing blob"

# An unreadable manifest.
cfg=$(sha "$T/b")
jq -cn --arg c "$cfg" '{ schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: { mediaType: "application/vnd.oci.image.config.v1+json",
	    digest: $c, size: 2000 }, layers: [] }' > "$T/m"
push_manifest e/x v1 "$T/m" application/vnd.oci.image.manifest.v1+json
md=$(sha "$T/m")
chmod 000 "$V2/blobs/sha256/${md:7:2}/${md#sha256:}/data"
http GET "$URL/v2/e/x/manifests/v1"
check_eq "$STATUS" 500 "GET of an unreadable manifest"

# An unreadable tag link (a tag not resolved before).
push_manifest e/x v2 "$T/m" application/vnd.oci.image.manifest.v1+json
chmod 000 "$V2/repositories/e/x/_manifests/tags/v2/current/link"
http HEAD "$URL/v2/e/x/manifests/v2"
check_eq "$STATUS" 500 "HEAD through an unreadable tag link"

# An upload whose data cannot be opened.
upload_start e/x
uuid=${LOC##*/}
uuid=${uuid%%\?*}
chmod 000 "$V2/repositories/e/x/_uploads/$uuid/data"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/b"
check_eq "$STATUS" 500 "PATCH to an unreadable upload"

sleep 0.5
grep -q 'Permission denied' "$T/regd.log" ||
    fail "no errno in the log: $(tail -5 "$T/regd.log")"
regd_stop
exit 0
