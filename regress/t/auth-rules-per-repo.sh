# Access rules, first match wins: anonymous pull allowed and push refused
# with 401, per-repository push for one user (403 DENIED elsewhere), a
# group allowed to push and delete everywhere.
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice apass
htpasswd_add ci cpass
htpasswd_add dave dpass
auth_start '	allow pull from any
	allow push on "team/*" from user "ci"
	allow push, delete on "*" from group "admins"
	deny push, delete from any' 'group "admins" { "alice" "carol" }'

as_user alice:apass
push_image lib/base v1
base_digest=$IMG_DIGEST
as_user ci:cpass
push_image team/app v1
app_digest=$IMG_DIGEST

# ci may not push outside team/.
make_blob 100 "$T/b"
http POST "$URL/v2/lib/base/blobs/uploads/?digest=$(sha "$T/b")" \
    --data-binary "@$T/b"
expect_error 403 DENIED
http PUT "$URL/v2/lib/base/manifests/v2" --data-binary "@$IMG_MANIFEST" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json'
expect_error 403 DENIED
# Nor delete, even in team/.
http DELETE "$URL/v2/team/app/manifests/$app_digest"
expect_error 403 DENIED
# dave is a known user with no push right at all.
as_user dave:dpass
http POST "$URL/v2/team/app/blobs/uploads/"
expect_error 403 DENIED

# Anonymous: pull yes, push no (401: a login might help).
as_user
http GET "$URL/v2/lib/base/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 200 "anonymous pull"
http GET "$URL/v2/team/app/tags/list"
check_eq "$STATUS" 200 "anonymous tag list"
http POST "$URL/v2/lib/base/blobs/uploads/"
expect_challenge
# A wrong password is a 401 even where anonymous pull is allowed.
as_user alice:nope
http GET "$URL/v2/lib/base/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
expect_challenge

# alice (group admins) deletes.
as_user alice:apass
http DELETE "$URL/v2/team/app/manifests/$app_digest"
check_eq "$STATUS" 202 "admin deletes"
http GET "$URL/v2/lib/base/manifests/$base_digest" \
    -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 200 "alice pulls"
regd_stop
