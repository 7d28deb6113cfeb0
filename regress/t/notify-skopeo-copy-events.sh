#!/bin/bash
# skopeo copy of a one-platform OCI image into regd, back out, and
# skopeo delete: the receiver gets a push event for the layer, the config
# and the manifest (tag v1, the manifest last), pull events for the
# manifest and both blobs, and the delete of the manifest, with the
# digests and media types of the image and skopeo's User-Agent.
. ./regress/lib.sh
. ./regress/notifylib.sh

printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"
sk()
{
	skopeo --policy "$T/policy.json" "$@" 2>&1 || fail "skopeo $*"
}

WPORT=$(free_port)
webhook_start "$WPORT"
regd_start "notify queue \"$T/queue\"
notify \"sk\" {
	url \"http://127.0.0.1:$WPORT/\"
}"

make_oci_layout "$T/src" one amd64
m=$(jq -r '.manifests[0].digest' "$T/src/index.json")
mfile=$T/src/blobs/sha256/${m#sha256:}
if [ "$(jq -r '.manifests | type' "$mfile")" = array ]; then
	m=$(jq -r '.manifests[0].digest' "$mfile")
	mfile=$T/src/blobs/sha256/${m#sha256:}
fi
cfg=$(jq -r '.config.digest' "$mfile")
layer=$(jq -r '.layers[0].digest' "$mfile")
ref=docker://127.0.0.1:$PORT/sk/app:v1

sk copy --dest-tls-verify=false "oci:$T/src:one" "$ref" > /dev/null
wait_events 3 || fail "only $(events_count) events after the push"
sleep 0.5
ev()
{
	jq -r -s "[.[].body.events[]] | $1" "$T/events"
}
check_eq "$(ev '[.[] | select(.action == "push") | .target.digest] |
    sort | join(" ")')" "$(printf '%s\n' "$cfg" "$layer" "$m" | sort |
    paste -sd' ')" "digests pushed"
check_eq "$(ev '[.[] | select(.action == "push")] | last |
    "\(.target.digest) \(.target.tag) \(.target.mediaType)"')" \
    "$m v1 application/vnd.oci.image.manifest.v1+json" "last push"
check_match "$(ev '.[0].request.useragent')" '[Ss]kopeo|containers' \
    "skopeo's User-Agent"
n=$(events_count)

sk copy --src-tls-verify=false "$ref" "oci:$T/out:v1" > /dev/null
wait_events $((n + 3)) || fail "only $(events_count) events after the pull"
sleep 0.5
check_eq "$(ev "[.[$n:][] | select(.action == \"pull\" and
    .request.method == \"GET\") | .target.digest] | unique | sort |
    join(\" \")")" "$(printf '%s\n' "$cfg" "$layer" "$m" | sort |
    paste -sd' ')" "digests pulled with GET"
n=$(events_count)

sk delete --tls-verify=false "docker://127.0.0.1:$PORT/sk/app@$m" > /dev/null
wait_events $((n + 1)) || fail "no event for the delete"
check_eq "$(ev '[.[] | select(.action == "delete")] | last |
    "\(.target.repository) \(.target.digest)"')" "sk/app $m" "delete"
exit 0
