#!/bin/bash
#
# A closing PUT or a monolithic POST whose digest does not match the bytes,
# or that has a malformed or no digest, answers 400 DIGEST_INVALID and
# commits nothing under either digest.

. ./regress/lib.sh

regd_start

make_blob 20000 "$T/blob"
make_blob 20000 "$T/other"
real=$(sha "$T/blob")
claimed=$(sha "$T/other")

upload_start lib/wrong
http PUT "$(add_query "$LOC" "digest=$claimed")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/blob"
expect_error 400 DIGEST_INVALID

http POST "$URL/v2/lib/wrong/blobs/uploads/?digest=$claimed" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/blob"
expect_error 400 DIGEST_INVALID

for dd in "$claimed" "$real"; do
	http GET "$URL/v2/lib/wrong/blobs/$dd"
	check_eq "$STATUS" 404 "GET $dd after the failed uploads"
	http HEAD "$URL/v2/lib/wrong/blobs/$dd"
	check_eq "$STATUS" 404 "HEAD $dd after the failed uploads"
done

# A digest that is not one: too short, and not hex.
for bad in sha256:abc "sha256:$(printf 'z%.0s' $(seq 64))"; do
	upload_start lib/wrong
	http PUT "$(add_query "$LOC" "digest=$bad")" \
	    -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$T/blob"
	expect_error 400 DIGEST_INVALID
done

# A closing PUT without a digest at all.
upload_start lib/wrong
http PUT "$LOC" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/blob"
expect_error 400 DIGEST_INVALID
http GET "$URL/v2/lib/wrong/blobs/$real"
check_eq "$STATUS" 404 "GET after a PUT without digest"
exit 0
