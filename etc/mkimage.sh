#!/bin/sh
#
# etc/mkimage.sh DIR [FILE...]: make a tiny OCI image layout in DIR, tagged
# "latest", whose one layer is a gzipped tar of the FILEs (default
# /etc/os-release).  Offline, with tar, gzip and sha256sum only, so a newcomer
# has something to push:
#
#	sh etc/mkimage.sh ./image
#	skopeo copy --dest-tls-verify=false oci:./image:latest \
#	    docker://127.0.0.1:5000/library/image:latest

set -e
[ $# -ge 1 ] || { echo "usage: mkimage.sh DIR [FILE...]" >&2; exit 2; }
dir=$1
shift
[ $# -gt 0 ] || set -- /etc/os-release
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

mkdir -p "$dir/blobs/sha256"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# blob FILE: move FILE in as a blob; prints "sha256:HEX SIZE".
blob()
{
	h=$(sha256sum < "$1" | cut -d' ' -f1)
	s=$(wc -c < "$1" | tr -d ' ')
	mv "$1" "$dir/blobs/sha256/$h"
	echo "sha256:$h $s"
}

tar --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$tmp/layer.tar" \
    "$@" 2>/dev/null
diffid=sha256:$(sha256sum < "$tmp/layer.tar" | cut -d' ' -f1)
gzip -n "$tmp/layer.tar"
layer=$(blob "$tmp/layer.tar.gz")
printf '{"architecture":"%s","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$arch" "$diffid" > "$tmp/config"
config=$(blob "$tmp/config")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "${config% *}" "${config#* }" "${layer% *}" "${layer#* }" > "$tmp/manifest"
man=$(blob "$tmp/manifest")
printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
    "${man% *}" "${man#* }" > "$dir/index.json"
echo "oci:$dir:latest"
