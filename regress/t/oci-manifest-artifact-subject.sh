#!/bin/bash
#
# An artifact manifest (artifactType, the empty config, a subject) is
# accepted with the OCI-Subject header naming its subject, also when the
# subject does not exist (yet), and is served back exactly.

. ./regress/lib.sh

regd_start

push_image lib/art v1
subject=$IMG_DIGEST
subsize=$IMG_SIZE
printf '{}' > "$T/empty"
push_blob lib/art "$T/empty"
make_blob 500 "$T/sbom"
push_blob lib/art "$T/sbom"
type=application/vnd.oci.image.manifest.v1+json

# artifact SUBJECT-DIGEST SUBJECT-SIZE FILE
artifact()
{
	jq -n --arg e "$EMPTY_JSON" --arg s "$1" --argjson ss "$2" \
	    --arg l "$(sha "$T/sbom")" --argjson ls "$(stat -c %s "$T/sbom")" '{
		schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		artifactType: "application/vnd.example.sbom.v1",
		config: { mediaType: "application/vnd.oci.empty.v1+json",
		    digest: $e,
		    size: 2, data: "e30=" },
		layers: [ { mediaType: "application/vnd.example.sbom.v1+json",
		    digest: $l, size: $ls } ],
		subject: { mediaType:
		    "application/vnd.oci.image.manifest.v1+json",
		    digest: $s, size: $ss },
		annotations: { "org.example.kind": "sbom" }
	    }' > "$3"
}

artifact "$subject" "$subsize" "$T/art"
d=$(sha "$T/art")
http PUT "$URL/v2/lib/art/manifests/$d" -H "Content-Type: $type" \
    --data-binary "@$T/art"
check_eq "$STATUS" 201 "PUT of the artifact by digest"
check_eq "$(hdr OCI-Subject)" "$subject" "OCI-Subject"
check_eq "$(hdr Docker-Content-Digest)" "$d" "Docker-Content-Digest"
check_manifest lib/art "$d" "$T/art" "$type"

# A subject that is not in the registry is still accepted.
ghost=sha256:$(printf 'ghost' | sha256sum | cut -d' ' -f1)
artifact "$ghost" 1234 "$T/art2"
d2=$(sha "$T/art2")
http PUT "$URL/v2/lib/art/manifests/$d2" -H "Content-Type: $type" \
    --data-binary "@$T/art2"
check_eq "$STATUS" 201 "PUT of an artifact whose subject is missing"
check_eq "$(hdr OCI-Subject)" "$ghost" "OCI-Subject of the missing subject"
check_manifest lib/art "$d2" "$T/art2" "$type"

# And by tag.
put_manifest_ok lib/art sbom "$T/art" "$type"
check_eq "$(hdr OCI-Subject)" "$subject" "OCI-Subject on PUT by tag"
exit 0
