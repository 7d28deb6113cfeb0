#!/bin/bash
# The metrics block: each bad statement is reported as "file:line:" and
# regd -n exits 1; a good block is shown by regd -n -v and that output
# parses back to the same.
. regress/lib.sh

# bad LINE CONTENT [TEXT]: CONTENT is a whole file whose error is on LINE.
bad()
{
	conf_bad "$@"
}

srv='server "s" {
	listen on 127.0.0.1 port 5000
}'

bad 7 "$srv
metrics {
	listen on 127.0.0.1 port 9101
}
metrics {
	listen on 127.0.0.1 port 9102
}"
bad 4 "$srv
metrics {
	allow from any
}"
bad 6 "$srv
metrics {
	listen on 127.0.0.1 port 9101
	health timeout 0
}"
bad 6 "$srv
metrics {
	listen on 127.0.0.1 port 9101
	health timeout 2x
}"
bad 6 "$srv
metrics {
	listen on 127.0.0.1 port 9101
	health free space 10Q
}"
bad 6 "$srv
metrics {
	listen on 127.0.0.1 port 9101
	allow from user \"bob\"
}"
bad 6 "$srv
metrics {
	listen on 127.0.0.1 port 9101
	deny from address \"10.0.0.300\"
}"
bad 5 "$srv
metrics {
	listen on 127.0.0.1 port 5000
}"
bad 6 "$srv
metrics {
	listen on 127.0.0.1 port 9101
	frobnicate yes
}"
bad 5 "$srv
metrics {
	listen on 127.0.0.1 port 70000
}"
bad 5 "$srv
metrics {
	listen on 127.0.0.1 port 9101 tls
}"
bad 6 "$srv
metrics {
	listen on 127.0.0.1 port 9101
	health free space
}"
bad 6 "$srv
metrics {
	listen on 127.0.0.1 port 9101
	per repository labels 0
}"
bad 6 "$srv
metrics {
	listen on 127.0.0.1 port 9101
	per repository labels 501
}"
bad 6 "$srv
metrics {
	listen on 127.0.0.1 port 9101
	per repository labels many
}"

# A good block: shown by -n -v, and what is shown reads back the same.
f=$T/good.conf
cat > "$f" <<EOF2
storage "$T/storage"
$srv
metrics {
	listen on 127.0.0.1 port 9101
	allow from address "127.0.0.0/8"
	allow from address "::1"
	deny from any
	health timeout 3s
	health free space 1G
	per repository labels 50
}
EOF2
mkdir -p "$T/storage"
[ "$REGD_ROOT" -eq 1 ] && chown _regd "$T/storage"
out=$("$REGD" -n -v -f "$f" 2>&1) || fail "good file refused: $out"
echo "$out" >&2
block=$(echo "$out" | sed -n '/^metrics {/,/^}/p')
want='metrics {
	listen on 127.0.0.1 port 9101
	allow from address "127.0.0.0/8"
	allow from address "::1"
	deny from any
	health timeout 3
	health free space 1G
	per repository labels 50
}'
check_eq "$block" "$want" "the metrics block of regd -n -v"
echo "$out" | grep -q '^server "metrics"' &&
    fail "the metrics listener is shown as a server"
echo "$out" | grep -v '^configuration OK' > "$T/again.conf"
out2=$("$REGD" -n -v -f "$T/again.conf" 2>&1) ||
    fail "regd -n -v output does not parse: $out2"
check_eq "$(echo "$out2" | sed -n '/^metrics {/,/^}/p')" "$want" \
    "the block after a round trip"
# A file with only a metrics block still serves the default registry.
printf 'storage "%s"\nmetrics {\n\tlisten on 127.0.0.1 port 9101\n}\n' \
    "$T/storage" > "$T/only.conf"
out=$("$REGD" -n -v -f "$T/only.conf" 2>&1) || fail "metrics alone: $out"
echo "$out" | grep -q '^server "default"' ||
    fail "no default server beside the metrics block: $out"
# Without the block there is none.
printf 'storage "%s"\n%s\n' "$T/storage" "$srv" > "$T/none.conf"
check_eq "$("$REGD" -n -v -f "$T/none.conf" 2>&1 | grep -c '^metrics')" 0 \
    "metrics block shown without one configured"
exit 0
