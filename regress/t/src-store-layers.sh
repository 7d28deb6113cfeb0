#!/bin/bash
#
# Storage's layers call only down (regd/store_backend.h): the filesystem
# backend knows nothing of GC, quotas, caches, answers or JSON, the
# layers above it never touch a path or a directory themselves, and
# only store_reg.c makes the backend change the tree (so every change
# reaches the hooks).  A line that breaks a rule is printed.

. ./regress/lib.sh

cd regd || fail "no regd/"
[ -f store_fs.c ] && [ -f store_reg.c ] || fail "storage files missing"

out=$(grep -nE 'gc_|quota|store_err|st_res|st_req|status|store_gen|json|store\.h|reg_' \
    store_fs.c)
[ -z "$out" ] || fail "store_fs.c calls up: $out"

# The S3 backend may check digests and names with the helpers of
# store.h (store_digest_ok, valid_name) and speaks of HTTP statuses of
# the object store, but calls nothing else above it.
out=$(grep -nE 'gc_|quota|store_err|st_res|st_req|store_gen|json|reg_|cache_gen|meta_' \
    store_s3.c)
[ -z "$out" ] || fail "store_s3.c calls up: $out"

above=$(ls store_*.c | grep -v '^store_fs\.c$\|^store_mem\.c$\|^store_s3\.c$')
out=$(grep -nE 'ST_V2|opendir|(^|[^_a-z>.])(open|stat|lstat|unlink|rename|mkdir|rmdir)\(' \
    $above)
[ -z "$out" ] || fail "a layer above the backend touches the tree: $out"

out=$(grep -nE 'be->(blob_write|blob_remove|blob_quarantine|upload_begin|upload_commit|upload_abort|link_put|link_del|link_quarantine|link_remove|tag_set|tag_del|repo_remove)\(' \
    $above storage.c | grep -v '^store_reg\.c:')
[ -z "$out" ] || fail "a change that bypasses the hooks: $out"
exit 0
