#!/bin/bash
# Listing 140 tags makes storage sort an array larger than a kilobyte
# (128 pointers), for which glibc's qsort calls sysinfo(2); the seccomp
# filter must allow it, or one GET of a tag list (or of a catalog of as
# many repositories, sorted by the same code) kills storage and with it
# the whole registry.  The list comes back complete and sorted, and every
# regd process is still there afterwards.
. regress/lib.sh

regd_start
before=$(procs_of "$REGD_PID" | awk '{ print $1 }' | sort | tr '\n' ' ')

push_image big/app t0
seq 1 139 | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
    -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$IMG_MANIFEST" "$URL/v2/big/app/manifests/t{}" \
    > "$T/puts"
check_eq "$(sort -u "$T/puts" | tr '\n' ' ')" "201 " "tag PUT statuses"

http GET "$URL/v2/big/app/tags/list"
check_eq "$STATUS" 200 "tags list of 140 tags"
check_eq "$(jq '.tags | length' < "$BODY")" 140 "tags listed"
jq -r '.tags[]' < "$BODY" > "$T/tags"
LC_ALL=C sort -c "$T/tags" || fail "tags not sorted"

after=$(procs_of "$REGD_PID" | awk '{ print $1 }' | sort | tr '\n' ' ')
check_eq "$after" "$before" "regd processes after the big lists"
exit 0
