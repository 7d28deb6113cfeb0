#!/bin/bash
#
# "regctl show usage" gives, for each repository, the bytes of every blob
# and manifest it references and the bytes only it references, and the
# total on disk counting a blob two repositories share once; "show usage
# REPO" gives that repository's line and the total; an unknown repository
# is an error.

. ./regress/lib.sh

regd_start

push_image u/a v1
c=$(stat -c %s "$(dirname "$IMG_MANIFEST")/config")
l=$(stat -c %s "$(dirname "$IMG_MANIFEST")/layer")
m=$IMG_SIZE
http POST "$URL/v2/u/b/blobs/uploads/?mount=$IMG_LAYER&from=u/a" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "mount of u/a's layer into u/b"
make_blob 2000 "$T/own"
push_blob u/b "$T/own"

$REGCTL show usage > "$T/usage" || fail "show usage: $(cat "$T/usage")"
check_eq "$(awk '$1 == "u/a" { print $2, $3 }' "$T/usage")" \
    "$((c + l + m)) $((c + m))" "u/a referenced and exclusive bytes"
check_eq "$(awk '$1 == "u/b" { print $2, $3 }' "$T/usage")" \
    "$((l + 2000)) 2000" "u/b referenced and exclusive bytes"
check_eq "$(awk '/^total on disk:/ { print $4 }' "$T/usage")" \
    "$((c + l + m + 2000))" "total on disk"
check_eq "$(head -1 "$T/usage" | awk '{ print $1, $2, $3 }')" \
    "REPOSITORY REFERENCED EXCLUSIVE" "header"

$REGCTL show usage u/b > "$T/one" || fail "show usage u/b"
check_eq "$(grep -c '^u/' "$T/one")" 1 "lines of show usage u/b"
check_eq "$(awk '$1 == "u/b" { print $2, $3 }' "$T/one")" \
    "$((l + 2000)) 2000" "show usage u/b"
grep -q "^total on disk: $((c + l + m + 2000)) bytes" "$T/one" ||
    fail "total in show usage u/b: $(cat "$T/one")"

$REGCTL show usage no/such > "$T/none"
check_eq "$?" 1 "exit status for an unknown repository"
grep -q 'no such repository' "$T/none" || fail "message: $(cat "$T/none")"
exit 0
