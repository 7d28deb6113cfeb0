# The filtered catalog is paged after filtering: an anonymous client
# walking it with n=1 gets one visible name per page, and no Link header
# or body ever names a repository it may not pull (its "last" used to
# come from the unfiltered list).  A logged-in user pages through what
# he may see, the Link ending where his names end.
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice apass
htpasswd_add carol cpass
auth_start '	allow pull on "public/*" from any
	allow pull on "private/two" from user "carol"
	allow pull, push from user "alice"'

as_user alice:apass
for r in hidden/one private/two public/a public/b zzz/three; do
	push_image "$r" v1
done

# walk USER-NOTE N: every page of the catalog; prints the names; fails on
# a page larger than N or a hidden name in a Link.
walk()
{
	local url="$URL/v2/_catalog?n=$2" all= loc pages=0

	while :; do
		http GET "$url"
		check_eq "$STATUS" 200 "$1: GET $url"
		[ "$(jq '.repositories | length' < "$BODY")" -le "$2" ] ||
		    fail "$1: page larger than $2: $(cat "$BODY")"
		all="$all $(jq -r '.repositories[]' < "$BODY" | tr '\n' ' ')"
		loc=$(hdr Link)
		[ -n "$loc" ] || break
		printf '%s\n' "$loc" >> "$T/links.$1"
		loc=$(printf '%s' "$loc" | sed -e 's/^<\([^>]*\)>.*/\1/')
		url=$URL$loc
		pages=$((pages + 1))
		[ "$pages" -lt 20 ] || fail "$1: endless Link chain"
	done
	echo $all
}

as_user
got=$(walk anon 1)
check_eq "$got" "public/a public/b" "anonymous catalog in pages of 1"
! grep -E 'hidden|private|zzz' "$T/links.anon" ||
    fail "a Link names a hidden repository"
check_eq "$(wc -l < "$T/links.anon")" 1 "Links of the anonymous walk"
got=$(walk anon2 2)
check_eq "$got" "public/a public/b" "anonymous catalog in pages of 2"
[ ! -s "$T/links.anon2" ] || fail "a Link after the last visible name"

as_user carol:cpass
got=$(walk carol 1)
check_eq "$got" "private/two public/a public/b" "carol's catalog"
! grep -E 'hidden|zzz' "$T/links.carol" ||
    fail "a Link names a repository hidden from carol"

as_user alice:apass
got=$(walk alice 2)
check_eq "$got" "hidden/one private/two public/a public/b zzz/three" \
    "alice's catalog"
regd_stop
