#!/bin/bash
#
# A manifest naming a layer or a config the repository does not have is
# refused with 400 MANIFEST_BLOB_UNKNOWN and nothing is stored; a blob
# that only another repository has does not count.

. ./regress/lib.sh

regd_start

printf '%s' "$MIN_CONFIG" > "$T/config"
make_blob 2000 "$T/layer"
make_blob 2000 "$T/missing"
push_blob lib/mbu "$T/config"
push_blob lib/mbu "$T/layer"
push_blob lib/elsewhere "$T/missing"

# manifest CONFIG-FILE LAYER-FILE TYPE-PREFIX OUT
manifest()
{
	if [ "$3" = oci ]; then
		jq -n --arg c "$(sha "$1")" --argjson cs "$(stat -c %s "$1")" \
		    --arg l "$(sha "$2")" --argjson ls "$(stat -c %s "$2")" '{
			schemaVersion: 2,
			mediaType: "application/vnd.oci.image.manifest.v1+json",
			config: { mediaType:
			    "application/vnd.oci.image.config.v1+json",
			    digest: $c, size: $cs },
			layers: [ { mediaType:
			    "application/vnd.oci.image.layer.v1.tar+gzip",
			    digest: $l, size: $ls } ]
		    }' > "$4"
	else
		jq -n --arg c "$(sha "$1")" --argjson cs "$(stat -c %s "$1")" \
		    --arg l "$(sha "$2")" --argjson ls "$(stat -c %s "$2")" '{
			schemaVersion: 2,
			mediaType: ("application/vnd.docker." +
			    "distribution.manifest.v2+json"),
			config: { mediaType:
			    "application/vnd.docker.container.image.v1+json",
			    size: $cs, digest: $c },
			layers: [ { mediaType:
			    "application/vnd.docker.image.rootfs.diff.tar.gzip",
			    size: $ls, digest: $l } ]
		    }' > "$4"
	fi
}

n=0
for kind in oci docker; do
	if [ $kind = oci ]; then
		type=application/vnd.oci.image.manifest.v1+json
	else
		type=application/vnd.docker.distribution.manifest.v2+json
	fi
	for bad in layer config; do
		n=$((n + 1))
		if [ $bad = layer ]; then
			manifest "$T/config" "$T/missing" $kind "$T/m$n"
		else
			manifest "$T/missing" "$T/layer" $kind "$T/m$n"
		fi
		http PUT "$URL/v2/lib/mbu/manifests/t$n" \
		    -H "Content-Type: $type" --data-binary "@$T/m$n"
		expect_error 400 MANIFEST_BLOB_UNKNOWN
		http GET "$URL/v2/lib/mbu/manifests/t$n" \
		    -H "Accept: $ACCEPT_MANIFESTS"
		check_eq "$STATUS" 404 \
		    "GET of the refused $kind manifest ($bad)"
		http GET "$URL/v2/lib/mbu/manifests/$(sha "$T/m$n")" \
		    -H "Accept: $ACCEPT_MANIFESTS"
		check_eq "$STATUS" 404 \
		    "GET by digest of the refused $kind manifest ($bad)"
	done
done

# The same manifests are fine once the blob is pushed here.
push_blob lib/mbu "$T/missing"
put_manifest_ok lib/mbu t1 "$T/m1" application/vnd.oci.image.manifest.v1+json
exit 0
