#!/bin/bash
# A webhook receiver gets exactly the events of a scripted push, pull and
# delete sequence, in order, in Distribution's envelope: the media type
# application/vnd.docker.distribution.events.v1+json, the configured
# header, and for each event the action, repository, digest, media type,
# size, tag, url and the request's method, address and user agent.
. regress/lib.sh
. regress/notifylib.sh

WPORT=$(free_port)
webhook_start "$WPORT"

regd_start "notify queue \"$T/queue\"
notify \"hook\" {
	url \"http://127.0.0.1:$WPORT/events\"
	header \"Authorization\" \"Bearer s3cret\"
	timeout 5s
	backoff 1s max 4s
}"
[ "$(pids_titled notify | wc -l)" -eq 1 ] || fail "no notify process"

R=team/app
UA="regress-notify/1.0"
make_blob 3000 "$T/layer"
make_blob 100 "$T/config"
L=$(sha "$T/layer")
C=$(sha "$T/config")
push_blob "$R" "$T/layer"
push_blob "$R" "$T/config"
cat > "$T/manifest" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$C","size":100},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$L","size":3000}]}
EOF
MT=application/vnd.oci.image.manifest.v1+json
M=$(sha "$T/manifest")
MSIZE=$(stat -c %s "$T/manifest")
http PUT "$URL/v2/$R/manifests/v1" -H "Content-Type: $MT" \
    -H "User-Agent: $UA" --data-binary "@$T/manifest"
check_eq "$STATUS" 201 "manifest put"
http GET "$URL/v2/$R/manifests/v1" -H "Accept: $MT" -H "User-Agent: $UA"
check_eq "$STATUS" 200 "manifest get"
http GET "$URL/v2/$R/blobs/$L" -H "User-Agent: $UA"
check_eq "$STATUS" 200 "blob get"
# A failed request is no event.
http GET "$URL/v2/$R/blobs/sha256:$(printf '0%.0s' $(seq 1 64))"
check_eq "$STATUS" 404 "missing blob"
http POST "$URL/v2/other/app/blobs/uploads/?mount=$L&from=$R" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "mount"
http DELETE "$URL/v2/$R/manifests/$M" -H "User-Agent: $UA"
check_eq "$STATUS" 202 "manifest delete"
http DELETE "$URL/v2/$R/blobs/$C"
check_eq "$STATUS" 202 "blob delete"

wait_events 8 || fail "only $(events_count) of 8 events"
sleep 0.5
check_eq "$(events_count)" 8 "events received"

# Every request carried the envelope's media type and the header.
jq -r '.ctype' "$T/events" | sort -u > "$T/ctypes"
check_eq "$(cat "$T/ctypes")" \
    "application/vnd.docker.distribution.events.v1+json" "Content-Type"
jq -r '.headers.authorization' "$T/events" | sort -u > "$T/auth"
check_eq "$(cat "$T/auth")" "Bearer s3cret" "configured header"

jq -c -s '[.[].body.events[] | [.action, .target.repository,
    .target.digest, .target.mediaType, (.target.size // null),
    (.target.tag // null), (.target.fromRepository // null),
    .request.method]][]' "$T/events" > "$T/got"
OCT=application/octet-stream
cat > "$T/want" <<EOF
["push","$R","$L","$OCT",3000,null,null,"POST"]
["push","$R","$C","$OCT",100,null,null,"POST"]
["push","$R","$M","$MT",$MSIZE,"v1",null,"PUT"]
["pull","$R","$M","$MT",$MSIZE,"v1",null,"GET"]
["pull","$R","$L","$OCT",3000,null,null,"GET"]
["mount","other/app","$L","$OCT",3000,null,"$R","POST"]
["delete","$R","$M",null,null,null,null,"DELETE"]
["delete","$R","$C",null,null,null,null,"DELETE"]
EOF
if ! diff "$T/want" "$T/got" > "$T/diff"; then
	cat "$T/got" >&2
	fail "events differ from the sequence: $(cat "$T/diff")"
fi

# The other fields, as Distribution fills them.
jq -c -s '[.[].body.events[]][2]' "$T/events" > "$T/ev"
ev()
{
	jq -r "$1" < "$T/ev"
}
check_eq "$(ev .target.url)" "$URL/v2/$R/manifests/$M" "manifest url"
check_eq "$(ev .target.length)" "$MSIZE" "length"
check_eq "$(ev .request.useragent)" "$UA" "user agent"
check_eq "$(ev .request.addr)" "127.0.0.1" "request addr"
check_eq "$(ev .request.host)" "127.0.0.1:$PORT" "request host"
check_match "$(ev .id)" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-' "event id"
check_match "$(ev .request.id)" '^[0-9a-f]{8}-' "request id"
check_match "$(ev .timestamp)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' \
    "timestamp"
check_match "$(ev .source.addr)" ":$PORT\$" "source addr"
check_match "$(ev .source.instanceID)" '^[0-9a-f-]{36}$' "instance id"
check_eq "$(jq -s '[.[].body.events[].id] | unique | length' \
    "$T/events")" 8 "distinct event ids"
check_eq "$(jq -r -s '[.[].body.events[]][4].target.url' "$T/events")" \
    "$URL/v2/$R/blobs/$L" "blob url"
# No secret in regd -nv.
out=$($REGD -nv -f "$T/regd.conf" 2>&1)
echo "$out" | grep -q 's3cret' && fail "regd -nv shows the header's secret"
echo "$out" | grep -q "url \"http://127.0.0.1:$WPORT/events\"" ||
    fail "regd -nv does not show the endpoint: $out"

# A User-Agent that is not UTF-8 is still a string in the event.
printf 'GET /v2/%s/blobs/%s HTTP/1.1\r\nHost: x\r\nUser-Agent: bad\377\376ua\r\nConnection: close\r\n\r\n' \
    "$R" "$L" > "$T/req"
python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.sendall(open(sys.argv[2],"rb").read()); s.recv(100)' \
    "$PORT" "$T/req"
wait_events 9 || fail "no event for the request with a bad User-Agent"
check_eq "$(jq -r -s '[.[].body.events[]][8].request.useragent' \
    "$T/events")" "bad??ua" "a User-Agent that is not UTF-8"

# A reload that changes the endpoints keeps the running ones and says so;
# the new frontends report to the same events process.
sed -i -e 's/backoff 1s max 4s/backoff 2s max 4s/' "$T/regd.conf"
$REGCTL reload > /dev/null || fail "reload"
grep -q 'notify changes need a restart' "$T/regd.log" ||
    fail "the reload does not say that notify changes need a restart"
sleep 0.5
push_blob "$R" "$T/layer"
wait_events 10 || fail "no event after the reload"
alive "$REGD_PID" || fail "regd died"
# SIGTERM ends every process, the events process included, within 5 s.
regd_stop
exit 0
