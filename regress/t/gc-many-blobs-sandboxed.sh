#!/bin/bash
#
# Housekeeping inside the storage sandbox on more entries than glibc's
# qsort sorts in a stack buffer (1 KiB of pointers; beyond that its first
# call asks sysinfo(2)): with 140 loose blobs in 70 repositories, "gc -n",
# "show usage", "fsck" and "show repos" all answer, the storage process
# is the same one afterwards (no seccomp kill), and gc then removes the
# 140 blobs.

. ./regress/lib.sh

regd_start 'gc grace 0'
storage_pid()
{
	procs_of "$REGD_PID" | awk '$0 ~ /storage/ { print $1 }'
}
before=$(storage_pid)
[ -n "$before" ] || fail "no storage process"

i=0
while [ $i -lt 140 ]; do
	printf 'blob %d' $i > "$T/b"
	curl -s -o /dev/null -w '%{http_code}\n' -X POST \
	    -H 'Content-Type: application/octet-stream' --data-binary "@$T/b" \
	    "$URL/v2/many/r$((i / 2))/blobs/uploads/?digest=$(sha "$T/b")"
	i=$((i + 1))
done > "$T/codes"
check_eq "$(sort -u "$T/codes")" 201 "answers to 140 uploads"

$REGCTL gc -n > "$T/dry" || fail "gc -n: $(tail -3 "$T/dry")"
check_eq "$(grep -c '^blob ' "$T/dry")" 140 "blobs listed by gc -n"
$REGCTL show usage > "$T/usage" || fail "show usage: $(tail -3 "$T/usage")"
check_eq "$(grep -c '^many/' "$T/usage")" 70 "repositories in show usage"
$REGCTL fsck > "$T/fsck" || fail "fsck: $(tail -3 "$T/fsck")"
grep -q '^fsck: 140 blobs and 140 links checked, 0 problems' "$T/fsck" ||
    fail "fsck: $(tail -1 "$T/fsck")"
$REGCTL show repos > "$T/repos" || fail "show repos"
check_eq "$(storage_pid)" "$before" "storage process after housekeeping"
$REGCTL gc > "$T/gc" || fail "gc: $(tail -3 "$T/gc")"
total=$(for i in $(seq 0 139); do printf 'blob %d' "$i"; done | wc -c)
check_eq "$(tail -1 "$T/gc")" "removed 140 blobs, $total bytes freed" \
    "gc summary"
check_eq "$(storage_pid)" "$before" "storage process after gc"
