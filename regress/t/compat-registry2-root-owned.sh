#!/bin/bash
#
# A registry:2 tree belongs to root (Distribution runs as root in its
# container).  Removals that fail are reported with their real errno and
# make "regctl gc", "regctl fsck -r" and "regctl rm" exit non-zero (they
# said "removed 0 blobs" and exited 0, and the log said "Directory not
# empty" for a permission denied).  A tree the storage user cannot write
# is refused by "regd -n" and at start-up with one line naming the fix,
# instead of being served read-only with 500s for every push.

. ./regress/lib.sh

[ "$REGD_ROOT" -eq 1 ] || skip "needs root to own files as root"

regd_start 'gc grace 0'
V2=$T/storage/docker/registry/v2

push_image lib/a v1
make_blob 900 "$T/loose"
push_blob lib/a "$T/loose"
loose=$(sha "$T/loose")
lh=${loose#sha256:}

make_blob 901 "$T/hidden"
push_blob lib/a "$T/hidden"
hidden=$(sha "$T/hidden")
hh=${hidden#sha256:}

# The loose blob's directory is root's now, with registry:2's mode 0755:
# gc can read but not remove its data.  The other one's is root's with
# mode 0700: gc cannot even read it.  Neither may pass in silence.
chown root: "$V2/blobs/sha256/${lh:0:2}/$lh"
chmod 0755 "$V2/blobs/sha256/${lh:0:2}/$lh"
chown root: "$V2/blobs/sha256/${hh:0:2}/$hh"
chmod 0700 "$V2/blobs/sha256/${hh:0:2}/$hh"
$REGCTL gc > "$T/gc.out" 2>&1
check_eq "$?" 1 "regctl gc exit status when a removal failed"
grep -q "^error: cannot remove blob $loose: Permission denied" "$T/gc.out" ||
    fail "gc did not report the failed removal: $(cat "$T/gc.out")"
grep -q "^error: cannot read blob $hidden: Permission denied" "$T/gc.out" ||
    fail "gc did not report the unreadable blob: $(cat "$T/gc.out")"
chown -R _regd "$V2/blobs/sha256/${hh:0:2}/$hh"
grep -q "^error: 2 removals failed" "$T/gc.out" ||
    fail "gc summary: $(cat "$T/gc.out")"
[ -f "$V2/blobs/sha256/${lh:0:2}/$lh/data" ] || fail "blob gone anyway"
chown -R _regd "$V2/blobs"

# A layer link to a blob that is gone, in a directory root owns: fsck -r
# cannot remove it and says why.
rm -r "$V2/blobs/sha256/${lh:0:2}/$lh"
mkdir -p "$V2/repositories/lib/b/_layers/sha256/$lh"
printf '%s' "$loose" > "$V2/repositories/lib/b/_layers/sha256/$lh/link"
chown -R root: "$V2/repositories/lib/b"
$REGCTL fsck -r > "$T/fsck.out" 2>&1
check_eq "$?" 1 "regctl fsck -r exit status when a removal failed"
grep -q "cannot remove .*/lib/b/_layers/sha256/$lh: Permission denied" \
    "$T/fsck.out" || fail "fsck -r did not say why: $(cat "$T/fsck.out")"

# regctl rm of a repository root owns.
$REGCTL rm lib/b > "$T/rm.out" 2>&1
check_eq "$?" 1 "regctl rm exit status when a removal failed"
grep -q "cannot remove .*/lib/b/_layers: Permission denied" "$T/rm.out" ||
    fail "rm did not say why: $(cat "$T/rm.out")"
grep -q "Directory not empty" "$T/regd.log" &&
    fail "the log blames a non-empty directory: $(grep -m1 'not empty' "$T/regd.log")"
grep -q "Permission denied" "$T/regd.log" ||
    fail "the log has no real errno: $(tail -5 "$T/regd.log")"
regd_stop

# The whole tree as Distribution leaves it: regd refuses, naming the fix.
chown -R root: "$T/storage"
out=$("$REGD" -n -f "$T/regd.conf" 2>&1)
check_eq "$?" 1 "regd -n exit status on a root-owned tree"
check_eq "$(echo "$out" | wc -l)" 1 "lines of regd -n: $out"
check_match "$out" "not writable by user _regd; fix: chown -R _regd $T/storage\$" \
    "regd -n on a root-owned tree"
out=$(timeout 10 "$REGD" -d -f "$T/regd.conf" 2>&1)
check_eq "$?" 1 "regd start-up exit status on a root-owned tree"
check_match "$out" "fix: chown -R _regd $T/storage\$" "regd start-up"

chown -R _regd "$T/storage"
"$REGD" -n -f "$T/regd.conf" > /dev/null 2>&1 ||
    fail "regd -n after the chown: $("$REGD" -n -f "$T/regd.conf" 2>&1)"
regd_launch
http GET "$URL/v2/lib/a/manifests/v1"
check_eq "$STATUS" 200 "the image after the chown"
exit 0
