#!/bin/bash
#
# The blob store is private to the storage user by default: blob data,
# links and upload files are created 0600 in 0700 directories, since
# access rules may hide repositories that a local reader of the tree
# would otherwise see.  "storage mode 0750" shares it with the group
# (files 0640).  A tree whose files have other modes keeps working.

. ./regress/lib.sh

V2=$T/storage/docker/registry/v2

# modes WHAT DIR FILE: the modes of the blob data file, its directory
# and the layer link after a push.
check_modes()
{
	local d h

	make_blob 3000 "$T/b-$1"
	push_blob "m/$1" "$T/b-$1"
	d=$(sha "$T/b-$1")
	h=${d#sha256:}
	check_eq "$(stat -c %a "$V2/blobs/sha256/${h:0:2}/$h/data")" "$3" \
	    "$1: mode of blob data"
	check_eq "$(stat -c %a "$V2/blobs/sha256/${h:0:2}/$h")" "$2" \
	    "$1: mode of the blob's directory"
	# Directories made before keep their mode.
	[ "$1" = private ] &&
	    check_eq "$(stat -c %a "$V2/blobs")" "$2" "$1: mode of blobs/"
	check_eq "$(stat -c %a "$V2/repositories/m/$1/_layers/sha256/$h/link")" \
	    "$3" "$1: mode of the layer link"
	upload_start "m/$1"
	check_eq "$(stat -c %a "$V2/repositories/m/$1/_uploads")" "$2" \
	    "$1: mode of _uploads"
	check_eq "$(find "$V2/repositories/m/$1/_uploads" -name data \
	    -printf '%m\n' | sort -u)" "$3" "$1: mode of upload data"
}

regd_start
check_modes private 700 600
regd_stop

# A tree from before (0644 files, 0755 directories) is still served.
chmod -R u=rwX,go=rX "$T/storage"
mv "$T/storage/docker" "$T/docker.old"
rm -rf "$T/storage"
mkdir -p "$T/storage"
mv "$T/docker.old" "$T/storage/docker"
regd_start 'storage mode 0750'
d=$(sha "$T/b-private")
http GET "$URL/v2/m/private/blobs/$d"
check_eq "$STATUS" 200 "a blob of a 0644 tree"
check_modes shared 750 640
regd_stop
exit 0
