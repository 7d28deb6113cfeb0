#!/bin/bash
# A throw-away dockerd (Debian's docker.io: its own data root, exec root,
# socket and containerd, no iptables, no bridge, vfs) with
# --registry-mirror pointing at regd pulls a two-platform image of
# docker.io; regd mirrors a Distribution on loopback whole.  docker.io
# itself is not reachable from here (and not asked: regd's access log
# has every request), so the pull came through regd; the digest docker
# records is the upstream's.
. regress/lib.sh

command -v dockerd >/dev/null || skip "dockerd is not installed (docker.io)"
[ "$REGD_ROOT" -eq 1 ] || skip "dockerd needs root"
DOCKER=docker
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker
printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"

mkdir -p "$T/up"
dreg_start "$T/up"
make_oci_layout "$T/multi" multi amd64 arm64
skopeo --policy "$T/policy.json" copy --all --dest-tls-verify=false \
    "oci:$T/multi:multi" "docker://${DREG_URL#http://}/library/regdtest:1" \
    > "$T/sk.out" 2>&1 || fail "skopeo copy: $(tail -5 "$T/sk.out")"
top=$(curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -D - -o /dev/null "$DREG_URL/v2/library/regdtest/manifests/1" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" {
    print $2 }')
[ -n "$top" ] || fail "no digest from the upstream"

regd_start "upstream \"dockerhub\" {
	url \"$DREG_URL\"
}" '	mirror "dockerhub"'

# Short paths: dockerd's containerd socket lives under the exec root.
D=$(mktemp -d /tmp/regd-dockerd.XXXXXX) || fail "mktemp"
mkdir -p "$D/data" "$D/exec"
dockerd --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/pid" \
    -H "unix://$D/sock" --iptables=false --ip6tables=false --bridge=none \
    --storage-driver=vfs --containerd-namespace regress \
    --containerd-plugins-namespace regress-plugins \
    --registry-mirror "http://127.0.0.1:$PORT" > "$T/dockerd.log" 2>&1 &
DD_PID=$!
stop_dockerd()
{
	local rc=$?

	kill "$DD_PID" 2>/dev/null
	regd_wait_gone 10 "$DD_PID" || kill -KILL "$DD_PID" 2>/dev/null
	wait "$DD_PID" 2>/dev/null
	rm -rf "$D"
	dreg_stop
	(exit "$rc")
	regd_cleanup
}
trap stop_dockerd EXIT
dk()
{
	timeout 60 "$DOCKER" -H "unix://$D/sock" "$@" > "$T/dk.out" 2>&1 ||
	    fail "docker $*: $(tail -5 "$T/dk.out")"
}
t0=$(date +%s%N)
n=200
until "$DOCKER" -H "unix://$D/sock" version > /dev/null 2>&1; do
	n=$((n - 1))
	[ $n -gt 0 ] && alive "$DD_PID" ||
	    fail "dockerd did not start: $(tail -5 "$T/dockerd.log")"
	sleep 0.1
done
t1=$(date +%s%N)
dk pull docker.io/library/regdtest:1
note "dockerd up in $(( (t1 - t0) / 1000000 )) ms, pull $(( ($(date +%s%N) - t1) / 1000000 )) ms"
dk image inspect --format '{{json .RepoDigests}}' regdtest:1
check_eq "$(jq -r '.[0]' "$T/dk.out")" "regdtest@$top" \
    "digest docker recorded"
# The platform's manifest, config and layer came from regd, as dockerd
# asked for them (the access log is written a moment later).
n=50
while :; do
	b=$(grep -c "GET /v2/library/regdtest/blobs/sha256:" "$T/access.log")
	grep -Eq "(GET|HEAD) /v2/library/regdtest/manifests/1 " \
	    "$T/access.log" &&
	    [ "$b" -ge 2 ] && break
	n=$((n - 1))
	[ $n -gt 0 ] || fail "regd was not asked for the tag, config and" \
	    "layer: $(cat "$T/access.log")"
	sleep 0.1
done
dk image inspect --format '{{.Architecture}}' regdtest:1
check_eq "$(cat "$T/dk.out")" amd64 "the platform pulled"
regd_stop
