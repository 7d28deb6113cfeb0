#!/bin/bash
#
# GET /v2/_catalog lists every repository in lexical order; n and last
# page through it with a Link rel="next" while more remain.

. ./regress/lib.sh

regd_start

repos="zz/top a b/c b/d m1 lib/deep/er/name"
for r in $repos; do
	push_image "$r" v1
done
want=$(printf '%s\n' $repos | LC_ALL=C sort | paste -sd, -)

http GET "$URL/v2/_catalog"
check_eq "$STATUS" 200 "catalog"
check_match "$(hdr Content-Type)" '^application/json' "Content-Type"
check_eq "$(json_get '.repositories | join(",")')" "$want" "catalog"

got=
next="/v2/_catalog?n=2"
pages=0
while [ -n "$next" ]; do
	http GET "$URL$next"
	check_eq "$STATUS" 200 "page $next"
	page=$(json_get '.repositories | join(",")')
	got=${got:+$got,}$page
	pages=$((pages + 1))
	[ $pages -le 4 ] || fail "too many pages"
	link=$(hdr Link)
	if [ -z "$link" ]; then
		next=
		continue
	fi
	check_eq "$(json_get '.repositories | length')" 2 \
	    "repositories on a page with a Link"
	check_match "$link" '^<[^>]+>; *rel="next"$' "Link header"
	next=$(printf '%s' "$link" | sed -e 's/^<\([^>]*\)>.*/\1/')
	next=${next#http://127.0.0.1:$PORT}
	check_match "$next" '^/v2/_catalog[?]' "Link target"
done
check_eq "$got" "$want" "repositories walked through the Links"

http GET "$URL/v2/_catalog?n=2&last=b/d"
check_eq "$(json_get '.repositories | join(",")')" lib/deep/er/name,m1 \
    "n=2 after b/d"
http GET "$URL/v2/_catalog?last=m1"
check_eq "$(json_get '.repositories | join(",")')" zz/top "after m1"
exit 0
