# The catalog only lists what the client may pull, for each user, and
# its Link pagination still walks the whole (filtered) list.
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice apass
htpasswd_add ci cpass
auth_start '	allow pull on "public/*" from any
	allow pull on "team/*" from user "ci"
	allow pull, push, delete from group "admins"' \
    'group "admins" { "alice" }'

as_user alice:apass
for r in public/a public/b team/x team/y secret/z; do
	push_image "$r" v1
done

catalog()
{
	local url="$URL/v2/_catalog${1:-}" all= loc

	while :; do
		http GET "$url"
		check_eq "$STATUS" 200 "GET $url"
		all="$all$(jq -r '.repositories[]' < "$BODY")
"
		loc=$(hdr Link)
		[ -n "$loc" ] || break
		loc=$(printf '%s' "$loc" | sed -e 's/^<\([^>]*\)>.*/\1/')
		url=$URL$loc
	done
	printf '%s' "$all" | sed -e '/^$/d' | tr '\n' ' '
}

check_eq "$(catalog)" "public/a public/b secret/z team/x team/y " \
    "alice's catalog"
check_eq "$(catalog '?n=2')" "public/a public/b secret/z team/x team/y " \
    "alice's catalog in pages of 2"
as_user ci:cpass
check_eq "$(catalog)" "public/a public/b team/x team/y " "ci's catalog"
check_eq "$(catalog '?n=1')" "public/a public/b team/x team/y " \
    "ci's catalog in pages of 1"
http GET "$URL/v2/secret/z/tags/list"
expect_error 403 DENIED
as_user
check_eq "$(catalog)" "public/a public/b " "anonymous catalog"
check_eq "$(catalog '?n=2')" "public/a public/b " \
    "anonymous catalog in pages of 2"
http GET "$URL/v2/team/x/tags/list"
expect_challenge
regd_stop
