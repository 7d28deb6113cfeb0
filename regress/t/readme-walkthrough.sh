#!/bin/bash
#
# The README's walkthrough runs as written, against a regd on a free port
# instead of 5000: the commands are taken from the README itself (the
# indented block after "Then, from another terminal"), joined at their
# backslashes, and run in an empty directory; the image they push is in
# the catalog and the copy pulled back is the image pushed.

. ./regress/lib.sh

regd_start
top=$PWD

block=$(awk '
	/^start\) and takes orders on/ || /Then, from another$/ { on = 1; next }
	on && /^    [^ ]/ { seen = 1 }
	on && seen && /^$/ { exit }
	on && seen { sub(/^    /, ""); print }' README)
[ -n "$block" ] || fail "no walkthrough block found in README"
echo "$block" | grep -q "etc/mkimage.sh" || fail "walkthrough without an image: $block"

script=$(echo "$block" | sed \
    -e "s|127\.0\.0\.1:5000|127.0.0.1:$PORT|g" \
    -e "s|\./regctl/regctl|$top/regctl/regctl -s $T/regd.sock|g" \
    -e "s|sh etc/|sh $top/etc/|g")
mkdir -p "$T/walk"
(cd "$T/walk" && set -e && eval "$script") > "$T/walk.out" 2>&1 ||
    fail "the walkthrough failed: $(cat "$T/walk.out")
--- as run:
$script"
http GET "$URL/v2/_catalog"
check_eq "$(jq -c .repositories "$BODY")" '["library/image"]' "catalog"
check_eq "$(jq -r '.manifests[0].digest' "$T/walk/back/index.json")" \
    "$(jq -r '.manifests[0].digest' "$T/walk/image/index.json")" \
    "digest of the image pulled back"
grep -q "^uptime" "$T/walk.out" || grep -qi "requests\|frontends" "$T/walk.out" ||
    fail "no regctl status in: $(tail -5 "$T/walk.out")"

# The two commands at the top exist as written.
grep -q '^    \./dev run ' README || fail "README lacks ./dev run"
grep -q '^    \./dev test ' README || fail "README lacks ./dev test"
[ -x ./dev ] || fail "./dev is not executable"
exit 0
