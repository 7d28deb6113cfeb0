#!/bin/bash
#
# podman pushes an image (imported from a tar made here) to regd and
# pulls it back: the same image ID, the manifest digest podman reported
# is the one regd serves, and a second push to another repository reuses
# the blobs.  podman keeps its whole state under $T and runs no
# container.

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

mkdir -p "$T/rootfs/etc" "$T/rootfs/bin"
echo "podman regress $RANDOM$RANDOM" > "$T/rootfs/etc/motd"
head -c 200000 /dev/urandom > "$T/rootfs/bin/blob"
tar -C "$T/rootfs" -cf "$T/rootfs.tar" etc bin
pm import --arch amd64 "$T/rootfs.tar" localhost/regress:v1 > /dev/null
id=$(pm image inspect --format '{{.Id}}' localhost/regress:v1)

dst=127.0.0.1:$PORT/lib/podman:v1
pm push --tls-verify=false --digestfile "$T/digest" localhost/regress:v1 \
    "docker://$dst"
digest=$(cat "$T/digest")
check_match "$digest" '^sha256:[0-9a-f]{64}$' "digest podman reports"

http GET "$URL/v2/lib/podman/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 200 "GET of the pushed manifest"
check_eq "$(sha "$BODY")" "$digest" "digest of the manifest regd serves"
check_eq "$(hdr Docker-Content-Digest)" "$digest" "Docker-Content-Digest"
check_eq "$(json_get .config.digest)" "sha256:$id" "config digest = image ID"
cp "$BODY" "$T/manifest"
for b in $(jq -r '.config.digest, .layers[].digest' "$T/manifest"); do
	http GET "$URL/v2/lib/podman/blobs/$b"
	check_eq "$STATUS" 200 "GET blob $b"
	check_eq "$(sha "$BODY")" "$b" "digest of blob $b as served"
done

pm rmi localhost/regress:v1 > /dev/null
pm pull --tls-verify=false "$dst" > /dev/null
check_eq "$(pm image inspect --format '{{.Id}}' "$dst")" "$id" \
    "image ID after the pull"
check_eq "$(pm image inspect --format '{{.Digest}}' "$dst")" "$digest" \
    "image digest after the pull"

# Another repository: the blobs are mounted or uploaded again.
pm push --tls-verify=false "$dst" "docker://127.0.0.1:$PORT/lib/podman-copy:v1"
for b in $(jq -r '.config.digest, .layers[].digest' "$T/manifest"); do
	http HEAD "$URL/v2/lib/podman-copy/blobs/$b"
	check_eq "$STATUS" 200 "blob $b in the second repository"
done
pm rmi "$dst" > /dev/null
pm pull --tls-verify=false "127.0.0.1:$PORT/lib/podman-copy:v1" > /dev/null
check_eq "$(pm image inspect --format '{{.Id}}' \
    "127.0.0.1:$PORT/lib/podman-copy:v1")" "$id" \
    "image ID pulled from the second repository"
exit 0
