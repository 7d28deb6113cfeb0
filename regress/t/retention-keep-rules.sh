#!/bin/bash
#
# Retention rules keep exactly what they say.  For "app/*": the newest 2
# tags, tags matching "release-*", and tags younger than 1h stay; the
# other tags go, with the manifests only they reached (and then their
# blobs), but a manifest another kept tag names stays.  For "tmp/*"
# (keep last 1) all but the newest tag go whatever their age; a
# repository no rule matches keeps everything.  "gc -n" previews exactly
# that and changes nothing.  Tag age is its current link's time.

. ./regress/lib.sh

regd_start 'gc grace 0
retention "app/*" {
	keep last 2
	keep tags matching "release-*"
	delete tags older than 1h
}
retention "tmp/*" { keep last 1 }'
V2=$T/storage/docker/registry/v2
mt=application/vnd.oci.image.manifest.v1+json

# tag REPO TAG AGE [MANIFEST-FILE]: push an image (or the given manifest)
# as TAG and date the tag AGE ago ("3 hours"); sets D to its digest.
tag()
{
	if [ -n "${4:-}" ]; then
		push_manifest "$1" "$2" "$4" "$mt"
		D=$(sha "$4")
	else
		push_image "$1" "$2"
		D=$IMG_DIGEST
		cp "$IMG_MANIFEST" "$T/m.$2"
		L=$IMG_LAYER
	fi
	touch -h -d "$3 ago" "$V2/repositories/$1/_manifests/tags/$2/current/link"
}

tag app/web t5 "1 second"; d5=$D
tag app/web t2 "2 hours" "$T/m.t5"
tag app/web t1 "3 hours"; d1=$D; l1=$L
tag app/web t3 "90 minutes"; d3=$D
tag app/web t4 "10 minutes"; d4=$D
tag app/web release-1 "5 hours"; dr=$D
tag tmp/x a "2 hours"; da=$D
tag tmp/x b "1 hour"; db=$D
tag tmp/x c "10 seconds"; dc=$D
tag other/z old "10 hours"; dz=$D

tags_of()
{
	http GET "$URL/v2/$1/tags/list"
	json_get '.tags[]' | sort | paste -sd' '
}

$REGCTL gc -n > "$T/dry" || fail "regctl gc -n: $(cat "$T/dry")"
check_eq "$(awk '$1 == "tag" { print $2 }' "$T/dry" | sort | paste -sd' ')" \
    "app/web:t1 app/web:t2 app/web:t3 tmp/x:a tmp/x:b" "tags gc -n would delete"
check_eq "$(awk '$1 == "manifest" { print $2 }' "$T/dry" | sort)" \
    "$(printf '%s\n' "app/web@$d1" "app/web@$d3" "tmp/x@$da" "tmp/x@$db" |
    sort)" "manifests gc -n would remove"
grep -q "^blob $l1 " "$T/dry" || fail "gc -n does not list t1's layer"
check_eq "$(tags_of app/web)" "release-1 t1 t2 t3 t4 t5" "app/web tags after gc -n"
check_eq "$(tags_of tmp/x)" "a b c" "tmp/x tags after gc -n"

$REGCTL gc > "$T/real" || fail "regctl gc: $(cat "$T/real")"
check_eq "$(tags_of app/web)" "release-1 t4 t5" "app/web tags after gc"
check_eq "$(tags_of tmp/x)" "c" "tmp/x tags after gc"
check_eq "$(tags_of other/z)" "old" "other/z tags after gc"
for d in "$d5" "$d4" "$dr"; do
	http GET "$URL/v2/app/web/manifests/$d"
	check_eq "$STATUS" 200 "kept manifest $d"
done
for d in "$d1" "$d3"; do
	http GET "$URL/v2/app/web/manifests/$d"
	check_eq "$STATUS" 404 "manifest $d of a deleted tag"
done
http HEAD "$URL/v2/app/web/blobs/$l1"
check_eq "$STATUS" 404 "layer of the deleted t1"
[ -e "$V2/blobs/sha256/$(echo "$l1" | cut -c8-9)/$(echo "$l1" | cut -c8-)" ] &&
    fail "t1's layer is still on disk"
http GET "$URL/v2/tmp/x/manifests/$dc"
check_eq "$STATUS" 200 "tmp/x's kept manifest"
http GET "$URL/v2/other/z/manifests/old"
check_eq "$STATUS" 200 "a repository no rule matches"

# Applied again, the rules find nothing more to do.
$REGCTL gc -n > "$T/again"
grep -Eq '^(tag|manifest|blob) ' "$T/again" &&
    fail "a second gc -n still finds: $(cat "$T/again")"
exit 0
