#!/bin/sh
#
# No two functions of the daemon, privsep and regctl share a name, static
# or not: a reader (and a debugger's "break name") finds one.  Functions
# are found as KNF writes them, the name at the start of a line before
# "(" (the type is on the line above), so no ctags is needed.
#
# Exemptions, one "name file file" a line, with the reason:
#   main, usage: regd and regctl are two programs.

. ./regress/lib.sh

EXEMPT='main regctl/regctl.c regd/regd.c
usage regctl/regctl.c regd/regd.c'

files=$(ls regd/*.c regd/*.y privsep/*.c regctl/*.c | grep -v '^regd/parse\.c$')
dups=$(for f in $files; do
	awk -v f="$f" '/^[A-Za-z_][A-Za-z0-9_]*\(/ {
		n = $0; sub(/\(.*/, "", n)
		if (n !~ /^[A-Z0-9_]+$/) print n, f }' "$f"
done | sort -k1,1 -k2,2 -u | awk '
	{ files[$1] = files[$1] " " $2; count[$1]++ }
	END { for (n in count) if (count[n] > 1) print n files[n] }' | sort)

bad=$(echo "$dups" | while read -r line; do
	[ -n "$line" ] || continue
	echo "$EXEMPT" | grep -qx "$line" || echo "$line"
done)
[ -z "$bad" ] || fail "functions defined in more than one file:
$bad"
# An exemption that no longer applies is removed, not kept.
stale=$(echo "$EXEMPT" | while read -r line; do
	echo "$dups" | grep -qx "$line" || echo "$line"
done)
[ -z "$stale" ] || fail "exemptions no longer needed, remove them: $stale"
exit 0
