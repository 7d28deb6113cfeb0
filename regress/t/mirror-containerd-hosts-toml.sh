#!/bin/bash
# containerd (Debian's, its own daemon under $T) pulls a two-platform
# image of "docker.io" through regd: its hosts.toml names regd as the
# mirror, which gets ?ns=docker.io and serves it from an upstream named
# for that host (Distribution here).  The default server is unreachable,
# so everything came through regd; the digest ctr records is the
# upstream's.
. regress/lib.sh
. regress/mirrorlib.sh

command -v containerd >/dev/null && command -v ctr >/dev/null ||
    skip "containerd is not installed"
[ "$REGD_ROOT" -eq 1 ] || skip "containerd needs root"
skopeo_setup

mkdir -p "$T/up"
dreg_start "$T/up"
make_oci_layout "$T/multi" multi amd64 arm64
sk copy --all --dest-tls-verify=false "oci:$T/multi:multi" \
    "docker://${DREG_URL#http://}/library/alpine:3.20"
top=$(curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -D - -o /dev/null "$DREG_URL/v2/library/alpine/manifests/3.20" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" {
    print $2 }')

regd_start "upstream \"dockerhub\" {
	url \"$DREG_URL\"
}" '	mirror "dockerhub" ns "docker.io"'

mkdir -p "$T/ctd" "$T/certs.d/docker.io"
cat > "$T/certs.d/docker.io/hosts.toml" <<EOD
server = "https://127.0.0.1:1"
[host."http://127.0.0.1:$PORT"]
  capabilities = ["pull", "resolve"]
EOD
cat > "$T/containerd.toml" <<EOD
version = 2
root = "$T/ctd/root"
state = "$T/ctd/state"
[grpc]
  address = "$T/ctd/c.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
EOD
containerd --config "$T/containerd.toml" > "$T/containerd.log" 2>&1 &
CTD_PID=$!
stop_ctd()
{
	local rc=$?

	kill "$CTD_PID" 2>/dev/null
	regd_wait_gone 5 "$CTD_PID" || kill -KILL "$CTD_PID" 2>/dev/null
	dreg_stop
	(exit "$rc")
	regd_cleanup
}
trap stop_ctd EXIT
ctr_()
{
	ctr --address "$T/ctd/c.sock" --namespace regress "$@" \
	    > "$T/ctr.out" 2>&1 || fail "ctr $*: $(tail -5 "$T/ctr.out")"
}
n=100
until ctr --address "$T/ctd/c.sock" version > /dev/null 2>&1; do
	n=$((n - 1))
	[ $n -gt 0 ] && alive "$CTD_PID" ||
	    fail "containerd did not start: $(tail -5 "$T/containerd.log")"
	sleep 0.1
done

timeout 60 ctr --address "$T/ctd/c.sock" --namespace regress images pull \
    --hosts-dir "$T/certs.d" --all-platforms docker.io/library/alpine:3.20 \
    > "$T/ctr.out" 2>&1 || fail "ctr pull: $(tail -5 "$T/ctr.out")"
ctr_ images ls
got=$(awk '$1 == "docker.io/library/alpine:3.20" { print $3 }' "$T/ctr.out")
check_eq "$got" "$top" "digest containerd recorded"
grep -q '?ns=docker.io' "$T/access.log" ||
    fail "regd was not asked with ?ns=docker.io"
http GET "$URL/v2/docker.io/library/alpine/manifests/$top"
check_eq "$STATUS" 200 "kept here as docker.io/library/alpine"
regd_stop
