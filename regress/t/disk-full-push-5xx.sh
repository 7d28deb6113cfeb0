#!/bin/bash
# On a storage filesystem that fills up (an 8 MiB tmpfs, a filler file
# taking half of it), a push that runs out of space gets a clean 5xx
# with the spec's error body, monolithic, in PATCH chunks or a manifest;
# the partial upload is removed (a session keeps none of the failed
# PATCH's bytes), the space it took is given back, what was pushed before
# is intact, and once the filler is gone the same push works.
. regress/lib.sh

[ "$REGD_ROOT" -eq 1 ] || skip "needs root (mount)"
REPO=disk/app

regd_conf
MNT=$T/storage
mount -t tmpfs -o "size=8m,mode=0755,uid=$(id -u _regd),gid=$(id -g _regd)" \
    regress-disk "$MNT" || skip "cannot mount a tmpfs"

disk_cleanup()
{
	local rc=$? pids p

	if [ -n "$REGD_PID" ]; then
		pids=$(procs_of "$REGD_PID" | awk '{ print $1 }')
		kill -TERM "$REGD_PID" 2>/dev/null
		if ! regd_wait_gone 5 $pids; then
			for p in $pids; do
				kill -KILL "$p" 2>/dev/null
			done
		fi
		wait "$REGD_PID" 2>/dev/null
		REGD_PID=
	fi
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	(exit "$rc")
	regd_cleanup
}
trap disk_cleanup EXIT

used()
{
	df -k --output=used "$MNT" | tail -n 1 | tr -d ' '
}

uploads_left()
{
	local d=$MNT/docker/registry/v2/repositories/$REPO/_uploads

	[ -d "$d" ] || { echo 0; return; }
	find "$d" -mindepth 1 -maxdepth 1 | wc -l
}

# expect_5xx WHAT: the last answer is a 5xx with the spec's error JSON.
expect_5xx()
{
	case $STATUS in
	5??)
		;;
	*)
		fail "$1: status $STATUS, want 5xx: $(head -c 300 "$BODY")"
		;;
	esac
	check_match "$(hdr Content-Type)" '^application/json' \
	    "Content-Type of the $1 error"
	jq -e '(.errors | type == "array") and (.errors | length > 0) and
	    all(.errors[]; (.code | type == "string") and
	    (.message | type == "string"))' < "$BODY" > /dev/null 2>&1 ||
	    fail "$1: not the spec's error body: $(head -c 300 "$BODY")"
	note "$1: $STATUS $(jq -c '.errors[0]' < "$BODY")"
}

# wait_used_below KB WHAT: the space of a failed push comes back.
wait_used_below()
{
	local n=30

	while [ "$(used)" -gt "$1" ]; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || fail "$2: $(used) KiB used, want <= $1"
		sleep 0.1
	done
}

regd_launch

# Earlier content: an image and a 1 MiB blob.
push_image "$REPO" v1
make_blob 1048576 "$T/early"
push_blob "$REPO" "$T/early"
early=$(sha "$T/early")

# Half the filesystem goes to a file regd knows nothing about.
dd if=/dev/zero of="$MNT/filler" bs=1M count=4 status=none 2>/dev/null
note "used after the filler: $(used) KiB of $(df -k --output=size "$MNT" | tail -n 1 | tr -d ' ')"
base=$(used)

make_blob $((5 * 1048576)) "$T/big"
big=$(sha "$T/big")

# A monolithic push that cannot fit.
http POST "$URL/v2/$REPO/blobs/uploads/?digest=$big" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$T/big"
expect_5xx "monolithic push on a full disk"
wait_used_below $((base + 64)) "after the failed monolithic push"
check_eq "$(uploads_left)" 0 "upload sessions left after the monolithic push"

# The same in a PATCH of an upload session.
upload_start "$REPO"
http PATCH "$LOC" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/big"
expect_5xx "PATCH on a full disk"
wait_used_below $((base + 64)) "after the failed PATCH"
# The session stays for the client to retry or cancel, rolled back to
# the bytes it had before the PATCH (none).
d=$MNT/docker/registry/v2/repositories/$REPO/_uploads
left=$(find "$d" -type f -name data -size +0 | wc -l)
check_eq "$left" 0 "non-empty data of the session after the failed PATCH"
http GET "$LOC"
check_eq "$STATUS" 204 "status of the session after the failed PATCH"
note "session after the failed PATCH: Range '$(hdr Range)'"
case $(hdr Range) in
"" | 0-0 | bytes=0-0)
	;;
*)
	fail "session kept bytes of the failed PATCH: Range $(hdr Range)"
	;;
esac
http DELETE "$LOC"
check_eq "$STATUS" 204 "cancel of the session"
check_eq "$(uploads_left)" 0 "upload sessions left after the cancel"

# A manifest on a disk with no byte left: refused, and no tag appears.
dd if=/dev/zero of="$MNT/filler2" bs=64k status=none 2>/dev/null
jq -c '.annotations = {"regress": "full"}' "$IMG_MANIFEST" > "$T/man2"
http PUT "$URL/v2/$REPO/manifests/v2" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$T/man2"
expect_5xx "manifest PUT on a full disk"
rm -f "$MNT/filler2"
http GET "$URL/v2/$REPO/manifests/v2" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "GET of the tag whose manifest did not fit"
http GET "$URL/v2/$REPO/manifests/$(sha "$T/man2")" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 404 "GET of the manifest that did not fit"

# Nothing of the blob is visible.
http HEAD "$URL/v2/$REPO/blobs/$big"
check_eq "$STATUS" 404 "HEAD of the blob that did not fit"
[ ! -e "$MNT/docker/registry/v2/blobs/sha256/${big:7:2}/${big#sha256:}" ] ||
    fail "a blob directory exists for the failed push"

# What was there before is intact.
check_manifest "$REPO" v1 "$IMG_MANIFEST" \
    application/vnd.oci.image.manifest.v1+json
http GET "$URL/v2/$REPO/blobs/$early"
check_eq "$STATUS" 200 "GET of the earlier blob"
cmp -s "$BODY" "$T/early" || fail "the earlier blob changed"
http GET "$URL/v2/$REPO/blobs/$IMG_LAYER"
check_eq "$STATUS" 200 "GET of the earlier layer"

# Space freed: the same push goes through.
rm -f "$MNT/filler"
push_blob "$REPO" "$T/big"
http GET "$URL/v2/$REPO/blobs/$big"
check_eq "$STATUS" 200 "GET of the blob pushed after freeing space"
cmp -s "$BODY" "$T/big" || fail "the blob pushed after freeing space differs"
note "used at the end: $(used) KiB"
exit 0
