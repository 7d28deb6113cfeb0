#!/bin/bash
#
# The referrers of a manifest list every manifest and index of the
# repository whose subject is that manifest, each as a descriptor with
# mediaType, size, digest, artifactType (the config media type when the
# manifest has none, absent for an index without one) and annotations; a
# referrer of another subject is not listed, and a deleted one goes away.

. ./regress/lib.sh

regd_start

push_image lib/ra v1
subject=$IMG_DIGEST
subsize=$IMG_SIZE
push_image lib/ra other
other=$IMG_DIGEST
printf '{}' > "$T/empty"
push_blob lib/ra "$T/empty"
printf '{"signed":true}' > "$T/sigconf"
push_blob lib/ra "$T/sigconf"
make_blob 300 "$T/payload"
push_blob lib/ra "$T/payload"
mtype=application/vnd.oci.image.manifest.v1+json
itype=application/vnd.oci.image.index.v1+json

# subj DIGEST SIZE: a subject descriptor.
subj()
{
	jq -cn --arg d "$1" --argjson s "$2" \
	    '{ mediaType: "application/vnd.oci.image.manifest.v1+json",
	    digest: $d, size: $s }'
}
payload=$(jq -cn --arg d "$(sha "$T/payload")" \
    --argjson s "$(stat -c %s "$T/payload")" \
    '{ mediaType: "application/octet-stream", digest: $d, size: $s }')

# An SBOM artifact with artifactType.
jq -n --arg e "$EMPTY_JSON" --argjson subj "$(subj "$subject" "$subsize")" \
    --argjson p "$payload" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	artifactType: "application/vnd.example.sbom.v1",
	config: { mediaType: "application/vnd.oci.empty.v1+json",
	    digest: $e,
	    size: 2 },
	layers: [ $p ], subject: $subj,
	annotations: {
	    "org.opencontainers.image.created": "2024-01-01T00:00:00Z",
	    "org.example.format": "spdx" }
    }' > "$T/sbom"
# A signature without artifactType: its config media type stands in.
jq -n --argjson subj "$(subj "$subject" "$subsize")" --argjson p "$payload" \
    --arg c "$(sha "$T/sigconf")" --argjson cs "$(stat -c %s "$T/sigconf")" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: { mediaType: "application/vnd.example.signature.config.v1+json",
	    digest: $c, size: $cs },
	layers: [ $p ], subject: $subj,
	annotations: { "org.example.signer": "regress" }
    }' > "$T/sig"
# An index with a subject and no artifactType.
jq -n --argjson subj "$(subj "$subject" "$subsize")" --arg o "$other" \
    --argjson os "$IMG_SIZE" '{
	schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [ { mediaType: "application/vnd.oci.image.manifest.v1+json",
	    digest: $o, size: $os } ],
	subject: $subj,
	annotations: { "org.example.bundle": "yes" }
    }' > "$T/idx"
# A referrer of the other image, which must not show.
jq -n --arg e "$EMPTY_JSON" --argjson subj "$(subj "$other" "$IMG_SIZE")" \
    --argjson p "$payload" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	artifactType: "application/vnd.example.sbom.v1",
	config: { mediaType: "application/vnd.oci.empty.v1+json",
	    digest: $e,
	    size: 2 },
	layers: [ $p ], subject: $subj
    }' > "$T/elsewhere"

for f in sbom sig elsewhere; do
	http PUT "$URL/v2/lib/ra/manifests/$(sha "$T/$f")" \
	    -H "Content-Type: $mtype" --data-binary "@$T/$f"
	check_eq "$STATUS" 201 "PUT of $f"
done
http PUT "$URL/v2/lib/ra/manifests/$(sha "$T/idx")" -H "Content-Type: $itype" \
    --data-binary "@$T/idx"
check_eq "$STATUS" 201 "PUT of the index"

# want: the descriptors the spec asks for, sorted by digest.
{
	jq -c --arg d "$(sha "$T/sbom")" --argjson s "$(stat -c %s "$T/sbom")" \
	    '{ mediaType: .mediaType, digest: $d, size: $s,
	    artifactType: .artifactType, annotations: .annotations }' "$T/sbom"
	jq -c --arg d "$(sha "$T/sig")" --argjson s "$(stat -c %s "$T/sig")" \
	    '{ mediaType: .mediaType, digest: $d, size: $s,
	    artifactType: .config.mediaType, annotations: .annotations }' \
	    "$T/sig"
	jq -c --arg d "$(sha "$T/idx")" --argjson s "$(stat -c %s "$T/idx")" \
	    '{ mediaType: .mediaType, digest: $d, size: $s,
	    annotations: .annotations }' "$T/idx"
} | jq -cs 'sort_by(.digest)' > "$T/want"

http GET "$URL/v2/lib/ra/referrers/$subject"
check_eq "$STATUS" 200 "referrers"
check_eq "$(hdr Content-Type)" "$itype" "Content-Type"
check_eq "$(json_get .mediaType)" "$itype" "mediaType"
check_eq "$(json_get .schemaVersion)" 2 "schemaVersion"
got=$(jq -c '.manifests | map({ mediaType, digest, size, artifactType,
    annotations } | with_entries(select(.value != null))) | sort_by(.digest)' \
    < "$BODY")
check_eq "$got" "$(cat "$T/want")" "referrers descriptors"

# Deleting a referrer removes it from the list.
http DELETE "$URL/v2/lib/ra/manifests/$(sha "$T/sig")"
check_eq "$STATUS" 202 "DELETE of the signature"
http GET "$URL/v2/lib/ra/referrers/$subject"
check_eq "$STATUS" 200 "referrers after the delete"
want=$(printf '%s\n' "$(sha "$T/sbom")" "$(sha "$T/idx")" | sort |
    paste -sd, -)
check_eq "$(json_get '[.manifests[].digest] | sort | join(",")')" "$want" \
    "referrers after the delete"
exit 0
