#!/bin/sh
#
# No function of the daemon, privsep or regctl is longer than 120 lines
# (STYLE.md: "Keep functions under ~120 lines"), counted from the line
# with its name to its closing brace, as KNF writes them.
#
# Exemptions, "file name", with the reason: none now.

. ./regress/lib.sh

MAX=120
EXEMPT=''

files=$(ls regd/*.c regd/*.y privsep/*.c regctl/*.c | grep -v '^regd/parse\.c$')
long=$(for f in $files; do
	awk -v f="$f" -v max="$MAX" '
	/^[A-Za-z_][A-Za-z0-9_]*\(/ {
		name = $0; sub(/\(.*/, "", name)
		if (name !~ /^[A-Z0-9_]+$/) { start = FNR; infn = 1 }
		next }
	infn && /^}/ {
		if (FNR - start + 1 > max)
			print f, name, FNR - start + 1
		infn = 0 }' "$f"
done)

bad=$(echo "$long" | while read -r f name n; do
	[ -n "$f" ] || continue
	echo "$EXEMPT" | grep -qx "$f $name" || echo "$f $name: $n lines"
done)
[ -z "$bad" ] || fail "functions over $MAX lines:
$bad"
stale=$(echo "$EXEMPT" | while read -r f name; do
	[ -n "$f" ] || continue
	echo "$long" | grep -q "^$f $name " || echo "$f $name"
done)
[ -z "$stale" ] || fail "exemptions no longer needed, remove them: $stale"
exit 0
