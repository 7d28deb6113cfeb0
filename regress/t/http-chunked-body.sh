#!/bin/bash
# Request bodies sent with Transfer-Encoding: chunked are decoded: blob
# upload chunks by curl, by hand with chunk extensions and a trailer, a
# large streamed one and a chunked final PUT; a bad chunk size is a 400.
. regress/lib.sh

regd_start
repo=chunked/test

# One PATCH with curl's chunked encoding.
make_blob 70000 "$T/part1"
upload_start "$repo"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$T/part1"
check_eq "$STATUS" 202 "chunked PATCH"
check_eq "$(hdr Range)" "0-69999" "Range after the chunked PATCH"
LOC=$(loc_url "$(hdr Location)")

# The next PATCH written by hand: extensions, odd sizes, a trailer.
path=${LOC#"$URL"}
printf 'hello' > "$T/part2"
head -c 26 /dev/zero | tr '\0' z >> "$T/part2"
{
	printf 'PATCH %s HTTP/1.1\r\nHost: x\r\n' "$path"
	printf 'Content-Type: application/octet-stream\r\n'
	printf 'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
	printf '5;name=value\r\nhello\r\n'
	printf '1A\r\n%s\r\n' "$(head -c 26 /dev/zero | tr '\0' z)"
	printf '0\r\nX-Trailer: yes\r\n\r\n'
} > "$T/req"
raw_http "$T/req" 5
check_eq "$RAW_STATUS" 202 "hand-made chunked PATCH"
range=$(tr -d '\r' < "$RAW_OUT" | awk -F': *' 'tolower($1) == "range" { print $2 }')
check_eq "$range" "0-70030" "Range after the hand-made PATCH"

cat "$T/part1" "$T/part2" > "$T/blob"
d=$(sha "$T/blob")
http PUT "$(add_query "$LOC" "digest=$d")"
check_eq "$STATUS" 201 "PUT closing the chunked upload"
http GET "$URL/v2/$repo/blobs/$d"
check_eq "$STATUS" 200 "GET of the blob"
cmp -s "$BODY" "$T/blob" || fail "the blob's bytes differ from what was sent"

# A large chunked body is streamed through.
make_blob $((5 * 1024 * 1024 + 17)) "$T/big"
upload_start "$repo"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$T/big"
check_eq "$STATUS" 202 "5 MB chunked PATCH"
LOC=$(loc_url "$(hdr Location)")
d=$(sha "$T/big")
http PUT "$(add_query "$LOC" "digest=$d")"
check_eq "$STATUS" 201 "PUT closing the 5 MB upload"
http GET "$URL/v2/$repo/blobs/$d"
cmp -s "$BODY" "$T/big" || fail "the 5 MB blob differs"

# The final PUT itself may carry a chunked body.
make_blob 3000 "$T/small"
d=$(sha "$T/small")
upload_start "$repo"
http PUT "$(add_query "$LOC" "digest=$d")" \
    -H 'Content-Type: application/octet-stream' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$T/small"
check_eq "$STATUS" 201 "chunked PUT with the digest"
http GET "$URL/v2/$repo/blobs/$d"
cmp -s "$BODY" "$T/small" || fail "the blob of the chunked PUT differs"

# Bad chunk sizes.
for size in zz 'ffffffffffffffffffffff' '-5'; do
	upload_start "$repo"
	path=${LOC#"$URL"}
	{
		printf 'PATCH %s HTTP/1.1\r\nHost: x\r\n' "$path"
		printf 'Content-Type: application/octet-stream\r\n'
		printf 'Transfer-Encoding: chunked\r\n\r\n'
		printf '%s\r\nhello\r\n0\r\n\r\n' "$size"
	} > "$T/req"
	raw_http "$T/req" 5
	check_match "$RAW_STATUS" '^(400|413)$' "chunk size '$size'"
	check_eq "$RAW_CLOSED" 1 "connection closed after chunk size '$size'"
done

http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ afterwards"
exit 0
