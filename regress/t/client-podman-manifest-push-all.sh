#!/bin/bash
#
# podman manifest create/add/push --all sends a two-platform list
# (linux/amd64, linux/arm64) to regd; regd serves the list and both
# images, and podman pull --arch gets each platform's own image back.

. ./regress/lib.sh

export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"
export TMPDIR=$T/vtmp
mkdir -p "$TMPDIR"
pm()
{
	podman --root "$T/proot" --runroot "$T/prun" --tmpdir "$T/ptmp" \
	    --network-config-dir "$T/pnet" --storage-driver vfs \
	    --cgroup-manager=cgroupfs --events-backend=none "$@" \
	    2>"$T/podman.err" || fail "podman $*: $(tail -5 "$T/podman.err")"
}

regd_start

for arch in amd64 arm64; do
	mkdir -p "$T/$arch/etc"
	echo "$arch image $RANDOM$RANDOM" > "$T/$arch/etc/motd"
	tar -C "$T/$arch" -cf "$T/$arch.tar" etc
	pm import --arch $arch "$T/$arch.tar" "localhost/img-$arch:v1" \
	    > /dev/null
	id=$(pm image inspect --format '{{.Id}}' "localhost/img-$arch:v1")
	eval "id_$arch=\$id"
done

pm manifest create localhost/regress-list > /dev/null
for arch in amd64 arm64; do
	pm manifest add localhost/regress-list \
	    "containers-storage:localhost/img-$arch:v1" > /dev/null
done
dst=127.0.0.1:$PORT/lib/podlist:v1
pm manifest push --all --tls-verify=false localhost/regress-list \
    "docker://$dst"

http GET "$URL/v2/lib/podlist/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 200 "GET of the list"
ltype=$(hdr Content-Type)
case $ltype in
application/vnd.oci.image.index.v1+json | \
    application/vnd.docker.distribution.manifest.list.v2+json)
	;;
*)
	fail "Content-Type of the list: $ltype"
	;;
esac
check_eq "$(hdr Docker-Content-Digest)" "$(sha "$BODY")" "list digest"
check_eq "$(json_get '[.manifests[].platform.architecture] | sort |
    join(",")')" amd64,arm64 "platforms in the list"
cp "$BODY" "$T/list"
for arch in amd64 arm64; do
	m=$(jq -r --arg a $arch \
	    '.manifests[] | select(.platform.architecture == $a) | .digest' \
	    "$T/list")
	http GET "$URL/v2/lib/podlist/manifests/$m" \
	    -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 200 "GET of the $arch manifest"
	check_eq "$(sha "$BODY")" "$m" "digest of the $arch manifest"
	eval "want=\$id_$arch"
	check_eq "$(json_get .config.digest)" "sha256:$want" "$arch config"
done

for arch in arm64 amd64; do
	pm pull --tls-verify=false --arch $arch "$dst" > "$T/pulled"
	got=$(tail -n 1 "$T/pulled")
	eval "want=\$id_$arch"
	check_eq "$got" "$want" "image ID pulled for $arch"
	check_eq "$(pm image inspect --format '{{.Architecture}}' "$got")" \
	    $arch "architecture of the image pulled for $arch"
done
exit 0
