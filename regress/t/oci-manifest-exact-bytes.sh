#!/bin/bash
#
# A manifest is stored and served byte for byte: odd indentation, key
# order, unicode escapes and a trailing newline survive, and the digest
# is that of the exact bytes sent.

. ./regress/lib.sh

regd_start

printf '%s' "$MIN_CONFIG" > "$T/config"
make_blob 700 "$T/layer"
push_blob lib/bytes "$T/config"
push_blob lib/bytes "$T/layer"
c=$(sha "$T/config")
cs=$(stat -c %s "$T/config")
l=$(sha "$T/layer")
{
	printf '{\n     "layers" : [ {"size":700, "digest":"%s",\n' "$l"
	printf '\t"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"} ],'
	printf '\r\n  "schemaVersion":2,\n"config":{"digest":"%s","size":%s,' \
	    "$c" "$cs"
	printf '"mediaType":"application/vnd.oci.image.config.v1+json"},\n'
	printf '  "mediaType":"application/vnd.oci.image.manifest.v1+json",\n'
	printf '  "annotations": {"note": "caf\\u00e9 \\"quoted\\" '
	printf '\xc3\xa9t\xc3\xa9"}   }\n\n'
} > "$T/manifest"
jq . "$T/manifest" > /dev/null || fail "test manifest is not JSON"
d=$(sha "$T/manifest")
canon=$(jq -cS . "$T/manifest" | sha256sum | cut -d' ' -f1)
[ "sha256:$canon" != "$d" ] || fail "test manifest is already canonical"

type=application/vnd.oci.image.manifest.v1+json
put_manifest_ok lib/bytes odd "$T/manifest" "$type"
check_manifest lib/bytes odd "$T/manifest" "$type"
check_manifest lib/bytes "$d" "$T/manifest" "$type"
exit 0
