#!/bin/bash
# "storage s3 { }": a good block passes regd -n and its dump parses back
# without the secret in it; every keyword's bad input, a missing required
# line, and a secret file that is not root-only each fail with
# "FILE:LINE: message" at the line at fault.
. regress/lib.sh

srv='server "s" {
	listen on 127.0.0.1 port 5000
}'
(umask 077; echo 'Sup3r-S3cret-Value' > "$T/secret")
printf 'x\n' > "$T/open.secret"
chmod 644 "$T/open.secret"
printf 'x\n' > "$T/group.secret"
chmod 640 "$T/group.secret"
(umask 077; : > "$T/empty.secret")
printf -- '-----BEGIN CERTIFICATE-----\n' > "$T/ca.pem"

# s3 LINES...: a storage s3 block of a good base with LINES after it.
good_block()
{
	cat <<EOB
storage s3 {
	endpoint "http://127.0.0.1:7480"
	region "default"
	bucket "registry"
	root "/prod"
	path style no
	access key "AKIDREGRESS"
	secret file "$T/secret"
	ca file "$T/ca.pem"
	cache "$T/cache" size 64M
	redirect yes
	presign expiry 10m
}
EOB
}

good_block > "$T/good.conf"
echo "$srv" >> "$T/good.conf"
out=$("$REGD" -n -f "$T/good.conf" 2>&1) ||
    fail "a good storage s3 block: $out"
out=$("$REGD" -nv -f "$T/good.conf" 2>&1)
case $out in
*Sup3r*)
	fail "regd -nv shows the secret: $out"
	;;
esac
echo "$out" | grep -q "secret file \"$T/secret\"" ||
    fail "the dump lacks the secret file: $out"
echo "$out" | grep -q "cache \"$T/cache\" size 67108864" ||
    fail "the dump lacks the cache: $out"
# The dump parses back to the same dump.
echo "$out" | sed -n '/^user /,$p' | grep -v '^configuration OK' \
    > "$T/dump.conf"
out2=$("$REGD" -nv -f "$T/dump.conf" 2>&1) || fail "the dump: $out2"
[ "$(echo "$out" | grep -v '^configuration OK')" = \
    "$(echo "$out2" | grep -v '^configuration OK')" ] ||
    fail "the dump does not parse back the same"

# bad LINE CONTENT [TEXT]: CONTENT, then a server block; the error on LINE.
bad()
{
	conf_bad "$1" "$2
$srv" "${3:-}"
}

# block LINE...: the good block with its lines replaced by those given
# (same keyword first word).
block()
{
	local l

	good_block > "$T/blk"
	for l in "$@"; do
		case $l in
		-*)
			grep -v "^	${l#-}" "$T/blk" > "$T/blk2"
			;;
		*)
			awk -v k="${l%% *}" -v nl="	$l" '
			    $1 == k { print nl; next } { print }' "$T/blk" \
			    > "$T/blk2"
			;;
		esac
		mv "$T/blk2" "$T/blk"
	done
	cat "$T/blk"
}

bad 2 "$(block 'endpoint "ftp://example.com"')" "not an http:// or https:// URL"
bad 2 "$(block 'endpoint ""')" "endpoint is empty"
bad 3 "$(block 'region ""')" "region is empty"
bad 4 "$(block 'bucket "Bad_Bucket"')" "not a bucket name"
bad 4 "$(block 'bucket "ab"')" "not a bucket name"
bad 5 "$(block 'root "/a/../b"')" 'no ".."'
bad 6 "$(block 'path style maybe')"
bad 7 "$(block 'access key ""')" "access key is empty"
bad 8 "$(block "secret file \"$T/nonexistent\"")" "No such file"
bad 8 "$(block "secret file \"$T/open.secret\"")" "group or others may read it"
bad 8 "$(block "secret file \"$T/group.secret\"")" "group or others may read it"
bad 8 "$(block "secret file \"$T/empty.secret\"")" "empty"
bad 8 "$(block 'secret file "relative"')" "not an absolute path"
bad 9 "$(block "ca file \"$T/nonexistent.pem\"")" "ca file"
bad 10 "$(block 'cache "relative" size 1G')" "not an absolute path"
bad 10 "$(block "cache \"$T/cache\" size 1000")" "at least 1M"
bad 10 "$(block "cache \"$T/cache\" size lots")" "bad size"
bad 11 "$(block 'redirect sometimes')"
bad 12 "$(block 'presign expiry 30d')" "presign expiry"
bad 12 "$(block 'presign expiry 0')" "presign expiry"
bad 12 "$(good_block | sed 's/^	presign .*/	frobnicate yes/')"
bad 12 "$(block -endpoint)" "storage s3: no endpoint"
bad 12 "$(block -bucket)" "storage s3: no bucket"
bad 12 "$(block -access)" "storage s3: no access key"
bad 12 "$(block -secret)" "storage s3: no secret file"
exit 0
