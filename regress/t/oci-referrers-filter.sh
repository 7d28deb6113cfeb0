#!/bin/bash
#
# GET /v2/<name>/referrers/<digest>?artifactType=<t> returns only the
# referrers of that type and says so with OCI-Filters-Applied:
# artifactType; a type nobody has gives an empty index, still filtered.

. ./regress/lib.sh

regd_start

push_image lib/rf v1
subject=$IMG_DIGEST
subsize=$IMG_SIZE
printf '{}' > "$T/empty"
push_blob lib/rf "$T/empty"
mtype=application/vnd.oci.image.manifest.v1+json

# art TYPE FILE: an artifact of TYPE referring to the image.
art()
{
	jq -n --arg e "$EMPTY_JSON" --arg t "$1" --arg s "$subject" \
	    --argjson ss "$subsize" '{
		schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		artifactType: $t,
		config: { mediaType: "application/vnd.oci.empty.v1+json",
		    digest: $e,
		    size: 2 },
		layers: [ { mediaType: "application/vnd.oci.empty.v1+json",
		    digest: $e,
		    size: 2 } ],
		subject: { mediaType:
		    "application/vnd.oci.image.manifest.v1+json",
		    digest: $s, size: $ss },
		annotations: { "org.example.n": ($t + "-" + (now | tostring)) }
	    }' > "$2"
	http PUT "$URL/v2/lib/rf/manifests/$(sha "$2")" \
	    -H "Content-Type: $mtype" --data-binary "@$2"
	check_eq "$STATUS" 201 "PUT of a $1 artifact"
}

art application/vnd.example.sbom.v1 "$T/a1"
art application/vnd.example.sbom.v1 "$T/a2"
art application/vnd.example.sig.v1 "$T/a3"

http GET "$URL/v2/lib/rf/referrers/$subject"
check_eq "$STATUS" 200 "unfiltered referrers"
check_eq "$(json_get '.manifests | length')" 3 "unfiltered referrers"

ref=$URL/v2/lib/rf/referrers/$subject
http GET "$ref?artifactType=application/vnd.example.sbom.v1"
check_eq "$STATUS" 200 "filtered referrers"
check_eq "$(hdr OCI-Filters-Applied)" artifactType "OCI-Filters-Applied"
check_eq "$(hdr Content-Type)" application/vnd.oci.image.index.v1+json \
    "Content-Type"
check_eq "$(json_get '[.manifests[].digest] | sort | join(",")')" \
    "$(printf '%s\n' "$(sha "$T/a1")" "$(sha "$T/a2")" | sort | paste -sd, -)" \
    "sbom referrers"
check_eq "$(json_get '[.manifests[].artifactType] | unique | join(",")')" \
    application/vnd.example.sbom.v1 "artifactType of the filtered list"

http GET "$ref?artifactType=application/vnd.example.sig.v1"
check_eq "$(hdr OCI-Filters-Applied)" artifactType "OCI-Filters-Applied"
check_eq "$(json_get '[.manifests[].digest] | join(",")')" "$(sha "$T/a3")" \
    "sig referrers"

http GET "$ref?artifactType=application/vnd.example.none"
check_eq "$STATUS" 200 "referrers of a type nobody has"
check_eq "$(hdr OCI-Filters-Applied)" artifactType "OCI-Filters-Applied"
check_eq "$(json_get '.manifests | length')" 0 "referrers of a type nobody has"
exit 0
