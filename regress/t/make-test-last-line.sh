#!/bin/bash
#
# When tests fail, the last line "./dev test" prints is the suite's
# "N passed, N failed", after make's own error line, and the exit status
# stays non-zero.  Run on a copy of the tree, with make's prerequisites
# of "test" taken as done (-o) and a test selection that fails.

. ./regress/lib.sh

mkdir -p "$T/tree"
cp -R Makefile dev regress "$T/tree/" || fail "copy"
rm -rf "$T/tree/regress/out"
out=$(cd "$T/tree" && ./dev test -o deps -o all -o units \
    -o fuzz-replay-asan TESTS=no-such-test 2>&1)
rc=$?
[ "$rc" -ne 0 ] || fail "./dev test exit status 0 when a test failed: $out"
check_eq "$(echo "$out" | tail -n 1)" "0 passed, 1 failed" \
    "last line of ./dev test"
echo "$out" | grep -q "Error" ||
    fail "make's own error line is missing (was the suite run?): $out"
exit 0
