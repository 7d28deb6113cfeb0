#!/bin/bash
#
# Every form the name grammar allows works: separators . _ __ - and --,
# digits, many components, and a name of 255 characters; each pushes,
# pulls, lists its tags and shows in the catalog.

. ./regress/lib.sh

regd_start

c100=$(printf 'a%.0s' $(seq 100))
c154=$(printf 'b%.0s' $(seq 154))
long=$c100/$c154
check_eq "${#long}" 255 "length of the long name"
type=application/vnd.oci.image.manifest.v1+json
names="a 0 a.b a_b a__b a-b a--b x9/y8/z7 lib/a.b_c__d-e--f/g0
1/2/3/4/5/6/7/8 $long"

for n in $names; do
	push_image "$n" v1
	check_manifest "$n" v1 "$IMG_MANIFEST" "$type"
	http GET "$URL/v2/$n/blobs/$IMG_LAYER"
	check_eq "$STATUS" 200 "GET of a blob of $n"
	http GET "$URL/v2/$n/tags/list"
	check_eq "$STATUS" 200 "tags of $n"
	check_eq "$(json_get .name)" "$n" "name in the tags list"
	check_eq "$(json_get '.tags | join(",")')" v1 "tags of $n"
done

http GET "$URL/v2/_catalog?n=1000"
check_eq "$STATUS" 200 "catalog"
check_eq "$(json_get '.repositories[]' | LC_ALL=C sort | paste -sd ' ' -)" \
    "$(printf '%s\n' $names | LC_ALL=C sort | paste -sd ' ' -)" "catalog"
exit 0
