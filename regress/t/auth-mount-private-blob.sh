# An attacker with push rights on his own repositories mounts digests of a
# private image he may not pull: without "from", with "from" naming the
# private repository and with a "from" too long to be read.  Every such
# mount is an ordinary upload (202 with a Location, as for a blob nobody
# has) and the bytes stay out of his repository; nothing tells a known
# digest from an unknown one.  A mount from a repository he may pull
# still links the blob (201), with or without "from".
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice apass
htpasswd_add bob bpass
auth_start '	allow pull, push on "private/*" from user "alice"
	allow pull, push on "public/*" from user "alice"
	allow pull on "public/*" from any
	allow pull, push on "bob/*" from user "bob"'

as_user alice:apass
push_image private/img v1
priv_layer=$IMG_LAYER
priv_config=$IMG_CONFIG
priv_manifest=$IMG_DIGEST
push_image public/lib v1
pub_layer=$IMG_LAYER

as_user bob:bpass
http GET "$URL/v2/private/img/blobs/$priv_layer"
expect_error 403 DENIED

unknown=sha256:$(printf 'nobody has this' | sha256sum | cut -d' ' -f1)
long=$(printf 'a%.0s' $(seq 300))

# mount_refused QUERY WHAT: an upload starts, the blob stays out of bob/x.
mount_refused()
{
	local d=${1%%&*}

	d=${d#mount=}
	http POST "$URL/v2/bob/x/blobs/uploads/?$1" -H 'Content-Length: 0'
	check_eq "$STATUS" 202 "$2"
	check_match "$(hdr Location)" '^(https://[^/]+)?/v2/bob/x/blobs/uploads/' \
	    "Location of $2"
	[ -z "$(hdr Docker-Content-Digest)" ] ||
	    fail "$2: Docker-Content-Digest $(hdr Docker-Content-Digest)"
	http GET "$URL/v2/bob/x/blobs/$d"
	expect_error 404 BLOB_UNKNOWN
	http HEAD "$URL/v2/bob/x/blobs/$d"
	check_eq "$STATUS" 404 "HEAD of $d in bob/x after $2"
}

for d in "$priv_layer" "$priv_config" "$priv_manifest"; do
	mount_refused "mount=$d" "mount of a private $d without from"
	mount_refused "mount=$d&from=private/img" "mount of $d from private/img"
	mount_refused "mount=$d&from=$long" "mount of $d with a long from"
	mount_refused "mount=$d&from=bad..name" "mount of $d with a bad from"
done
mount_refused "mount=$unknown" "mount of an unknown blob"
mount_refused "mount=$unknown&from=private/img" "unknown blob from private/img"

# The private manifest is still out of reach.
http GET "$URL/v2/bob/x/manifests/$priv_manifest" \
    -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "private manifest through bob/x"

# What bob may pull he may mount, with "from" or without.
http POST "$URL/v2/bob/x/blobs/uploads/?mount=$pub_layer&from=public/lib" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "mount from public/lib"
check_eq "$(hdr Docker-Content-Digest)" "$pub_layer" "digest of the mount"
http GET "$URL/v2/bob/x/blobs/$pub_layer"
check_eq "$STATUS" 200 "GET of the mounted public layer"
http POST "$URL/v2/bob/y/blobs/uploads/?mount=$pub_layer" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "mount of a public layer without from"
check_eq "$(hdr Location)" "/v2/bob/y/blobs/$pub_layer" "Location"

# alice, who may pull private/, may mount from it without naming it.
as_user alice:apass
http POST "$URL/v2/public/copy/blobs/uploads/?mount=$priv_layer" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "alice mounts her private layer without from"
regd_stop
