#!/bin/bash
# The notify keywords: each bad value is "file:line: message" from regd -n
# with exit 1, at the line at fault; a good block is shown by regd -nv
# with its defaults, and the queue may not be the storage directory.
. regress/lib.sh

# bad LINE CONTENT [TEXT]: CONTENT is a whole file whose error is on LINE.
bad()
{
	conf_bad "$@"
}

head="storage \"$T/s\"
server \"s\" {
	listen on 127.0.0.1 port 5000
}"

bad 6 "$head
notify \"a\" {
	url \"ftp://example.org/x\"
}" "bad notify url"
bad 6 "$head
notify \"a\" {
	url \"http://user:pw@example.org/x\"
}" "bad notify url"
bad 6 "$head
notify \"a\" {
	url \"http://example.org:99999/x\"
}" "bad notify url"
bad 5 "$head
notify \"a b\" {
	url \"http://example.org/x\"
}" "bad notify endpoint name"
bad 7 "$head
notify \"a\" {
	url \"http://example.org/x\"
	timeout 0
}" "notify timeout"
bad 7 "$head
notify \"a\" {
	url \"http://example.org/x\"
	backoff 10s max 5s
}" "below the first backoff"
bad 7 "$head
notify \"a\" {
	url \"http://example.org/x\"
	backoff soon
}" "bad duration"
bad 7 "$head
notify \"a\" {
	url \"http://example.org/x\"
	events push, fetch
}"
bad 7 "$head
notify \"a\" {
	url \"http://example.org/x\"
	header \"Content-Type\" \"text/plain\"
}" "set by regd"
bad 7 "$head
notify \"a\" {
	url \"http://example.org/x\"
	header \"Bad Name\" \"v\"
}" "bad character"
bad 7 "$head
notify \"a\" {
	url \"http://example.org/x\"
	queue size 1K
}" "notify queue size"
bad 5 "$head
notify \"a\" {
	timeout 5
}" "has no url"
bad 8 "$head
notify \"a\" {
	url \"http://example.org/x\"
}
notify \"a\" {
	url \"http://example.org/y\"
}" "defined twice"
bad 5 "$head
notify queue \"relative/dir\"" "not an absolute path"
bad 5 "$head
notify queue \"$T/s/events\"
notify \"a\" {
	url \"http://example.org/x\"
}" "outside the storage directory"

# A good one, with every keyword, and the defaults.
cat > "$T/good.conf" <<EOF
$head
notify queue "$T/q"
notify "ci" {
	url "https://hooks.example.org:8443/registry"
	header "Authorization" "Bearer hidden"
	header "X-Team" "platform"
	timeout 10s
	backoff 2s max 10m
	events push, delete, mount
	repository "team/*"
	repository "base"
	queue size 16M
}
notify "audit" {
	url "http://[::1]:9000/"
}
EOF
out=$("$REGD" -nv -f "$T/good.conf" 2>&1) || fail "good file refused: $out"
echo "$out" >&2
for want in 'notify queue "'"$T/q"'"' 'url "https://hooks.example.org:8443/registry"' \
    'header "X-Team" "platform"' 'timeout 10' 'backoff 2 max 600' \
    'events push, delete, mount' 'repository "team/\*"' 'queue size 16777216' \
    'notify "audit"' 'events push, pull, delete, mount' 'backoff 1 max 300' \
    'queue size 67108864'; do
	echo "$out" | grep -q -- "$want" || fail "regd -nv lacks '$want'"
done
echo "$out" | grep -q hidden && fail "regd -nv shows the Authorization value"
exit 0
