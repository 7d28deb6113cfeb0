#!/bin/bash
# regress: long 35
#
# The backend cases of regress/unit/test_backend run on the S3 backend
# (regd/store_s3.c) against a real radosgw (regress/s3/ceph.sh), after
# the filesystem and memory backends: blobs, links, tags, walks over
# hundreds of keys, uploads in sessions that each leave their state in
# the bucket (8 MiB parts, a short last part, a truncation across a
# part, a read of what the bucket holds), a commit by server-side copy,
# the digest-checked blob cache.  Then the keys are Distribution's.
# Skips only when Ceph is not installed.

. regress/lib.sh

. regress/s3/s3lib.sh

s3_need
UNIT=./regress/unit/test_backend
[ -x "$S3REQ" ] && [ -x "$UNIT" ] || fail "s3req/test_backend not built"
s3_up conformance
S3_ROOT=/some/root
export S3_ROOT

timeout 600 "$UNIT" > "$T/unit.out" 2>&1
rc=$?
grep -c '^ok   s3 ' "$T/unit.out" > "$T/n"
n=$(cat "$T/n")
[ "$rc" -eq 0 ] || fail "test_backend: $rc: $(grep -v '^ok' "$T/unit.out" |
    tail -n 20)"
[ "$n" -ge 60 ] || fail "only $n S3 cases ran: $(tail -n 5 "$T/unit.out")"
note "$n S3 cases passed"

# What a run leaves (a repository's links and tags) is under
# Distribution's keys: write one of each and list them.
"$S3REQ" GET "/$S3_BUCKET?list-type=2&prefix=some/root/" -- -s \
    -o "$T/list.xml"
grep -q '<Key>some/root/docker/registry/v2/' "$T/list.xml" ||
    [ "$(grep -c '<Key>' "$T/list.xml")" -eq 0 ] ||
    fail "keys outside the root's docker/registry/v2: $(head -c 600 "$T/list.xml")"
if grep -o '<Key>[^<]*</Key>' "$T/list.xml" |
    grep -v '<Key>some/root/docker/registry/v2/\(blobs/sha256/[0-9a-f][0-9a-f]/[0-9a-f]*/data\|repositories/.*/\(_layers\|_manifests/revisions\)/sha256/[0-9a-f]*/link\|repositories/.*/_manifests/tags/[^/]*/\(current\|index/sha256/[0-9a-f]*\)/link\|repositories/.*/_uploads/[0-9a-f-]*/\(data\|startedat\|hashstate\)\)</Key>$' \
    > "$T/odd"; then
	fail "keys not in Distribution's layout: $(head -n 5 "$T/odd")"
fi
# No multipart upload is left behind.
"$S3REQ" GET "/$S3_BUCKET?uploads" -- -s -o "$T/uploads.xml"
! grep -q '<UploadId>' "$T/uploads.xml" ||
    fail "multipart uploads left: $(head -c 600 "$T/uploads.xml")"
exit 0
