#!/bin/bash
#
# One connection carries on after error answers: a 404 blob, a refused
# manifest, a refused upload whose body the server did not want (bad name,
# bad digest) and a 413, each followed by a request that must get its own
# right answer, whether the server reused the connection or closed it.

. ./regress/lib.sh

regd_start

make_blob 1000000 "$T/big"
push_image lib/ka v1
printf '{not json' > "$T/bad"
missing=sha256:$(printf 'missing' | sha256sum | cut -d' ' -f1)
type=application/vnd.oci.image.manifest.v1+json
head -c 5000000 /dev/zero | tr '\0' ' ' > "$T/huge"

# seq2 CURL-ARGS-OF-FIRST -- : the first request, then GET /v2/lib/ka/
# manifests/v1 on the same curl handle; prints both statuses.
seq2()
{
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 "$@" \
	    --next -o "$T/second" -w '%{http_code}\n' \
	    -H "Accept: $ACCEPT_MANIFESTS" "$URL/v2/lib/ka/manifests/v1"
}

check_second()
{
	local got

	got=$(printf '%s\n' "$2" | paste -sd' ' -)
	check_eq "$got" "$1 200" "statuses of '$3' then a GET"
	cmp -s "$T/second" "$IMG_MANIFEST" || fail "after '$3': wrong manifest"
}

check_second 404 "$(seq2 "$URL/v2/lib/ka/blobs/$missing")" \
    "GET of a missing blob"
check_second 400 "$(seq2 -X PUT -H "Content-Type: $type" \
    --data-binary "@$T/bad" "$URL/v2/lib/ka/manifests/bad")" "PUT of bad JSON"
check_second 400 "$(seq2 -X POST -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/big" \
    "$URL/v2/lib/ka/blobs/uploads/?digest=$missing")" "POST with a wrong digest"
check_second 400 "$(seq2 -X POST -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/big" \
    "$URL/v2/lib/ka/blobs/uploads/?digest=md5:$(printf '0%.0s' $(seq 32))")" \
    "POST with an md5 digest"
st=$(seq2 -X POST -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/big" "$URL/v2/Bad/Name/blobs/uploads/?digest=$missing")
case $(printf '%s\n' "$st" | paste -sd' ' -) in
"400 200" | "404 200")
	cmp -s "$T/second" "$IMG_MANIFEST" ||
	    fail "after a bad name: wrong manifest"
	;;
*)
	fail "POST to a bad name then a GET: $st"
	;;
esac
check_second 413 "$(seq2 -X PUT -H "Content-Type: $type" \
    --data-binary "@$T/huge" "$URL/v2/lib/ka/manifests/huge")" \
    "PUT of a 5 MB manifest"
uuid=6f0b6a4e-3c1d-4c55-9b0e-7f2d3f9f1a22
check_second 404 "$(seq2 -X DELETE "$URL/v2/lib/ka/blobs/uploads/$uuid")" \
    "DELETE of an unknown upload"
exit 0
