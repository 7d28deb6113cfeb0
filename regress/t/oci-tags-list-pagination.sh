#!/bin/bash
#
# GET /v2/<name>/tags/list gives every tag in lexical order; with n it
# gives n tags and a Link rel="next" to the rest while more remain, and
# following the Links walks the whole list once; last is exclusive, works
# without n, and n=0 gives an empty list without Link.

. ./regress/lib.sh

regd_start

push_image lib/tags first
type=application/vnd.oci.image.manifest.v1+json
tags="latest v1 v1.0 v10 v2 1.0 0 a_b z-last 9 x.y.z"
for t in $tags; do
	put_manifest_ok lib/tags "$t" "$IMG_MANIFEST" "$type"
done
want=$( (echo first; printf '%s\n' $tags) | LC_ALL=C sort | paste -sd, -)
total=$(printf '%s\n' "$want" | tr , '\n' | wc -l)

http GET "$URL/v2/lib/tags/tags/list"
check_eq "$STATUS" 200 "tags list"
check_match "$(hdr Content-Type)" '^application/json' "Content-Type"
check_eq "$(json_get .name)" lib/tags "name"
check_eq "$(json_get '.tags | join(",")')" "$want" "all tags in order"
[ -z "$(hdr Link)" ] || fail "Link on the complete list: $(hdr Link)"

# Walk with n=3 following Link.
got=
next="/v2/lib/tags/tags/list?n=3"
pages=0
while [ -n "$next" ]; do
	http GET "$URL$next"
	check_eq "$STATUS" 200 "page $next"
	count=$(json_get '.tags | length')
	page=$(json_get '.tags | join(",")')
	got=${got:+$got,}$page
	pages=$((pages + 1))
	[ $pages -le $((total / 3 + 1)) ] || fail "too many pages"
	link=$(hdr Link)
	if [ -z "$link" ]; then
		next=
		continue
	fi
	check_eq "$count" 3 "tags on a page with a Link"
	check_match "$link" '^<[^>]+>; *rel="next"$' "Link header"
	next=$(printf '%s' "$link" | sed -e 's/^<\([^>]*\)>.*/\1/')
	next=${next#http://127.0.0.1:$PORT}
	check_match "$next" '^/v2/lib/tags/tags/list[?]' "Link target"
	check_match "$next" '[?&]n=3(&|$)' "n in the Link"
	check_match "$next" "[?&]last=${page##*,}(&|\$)" "last in the Link"
done
check_eq "$got" "$want" "tags walked through the Links"

# last without n: everything after it.
http GET "$URL/v2/lib/tags/tags/list?last=v1"
check_eq "$STATUS" 200 "last=v1"
check_eq "$(json_get '.tags | join(",")')" "${want#*,v1,}" "tags after v1"
# last that is not a tag: still lexical.
http GET "$URL/v2/lib/tags/tags/list?n=2&last=b"
check_eq "$(json_get '.tags | join(",")')" first,latest "n=2 after b"
# n larger than the list: all of them, no Link.
http GET "$URL/v2/lib/tags/tags/list?n=1000"
check_eq "$(json_get '.tags | join(",")')" "$want" "n=1000"
[ -z "$(hdr Link)" ] || fail "Link with n beyond the end: $(hdr Link)"
# n exactly the size.
http GET "$URL/v2/lib/tags/tags/list?n=$total"
check_eq "$(json_get '.tags | join(",")')" "$want" "n=$total"
# last being the last tag: empty.
http GET "$URL/v2/lib/tags/tags/list?last=z-last"
check_eq "$STATUS" 200 "last=z-last"
check_eq "$(json_get '.tags | length')" 0 "tags after the last one"

http GET "$URL/v2/lib/tags/tags/list?n=0"
check_eq "$STATUS" 200 "n=0"
check_eq "$(json_get '.tags | type')" array "tags type with n=0"
check_eq "$(json_get '.tags | length')" 0 "tags with n=0"
[ -z "$(hdr Link)" ] || fail "Link with n=0: $(hdr Link)"
exit 0
