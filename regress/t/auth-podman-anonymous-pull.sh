# "allow pull from any" with real clients: after alice pushes, podman
# without a login pulls the image (containers/image sends an empty Basic
# user, which is anonymous, not a failed login), and skopeo without a
# login cannot push.
. regress/lib.sh
. regress/authlib.sh

command -v skopeo >/dev/null || fail "skopeo is not installed (regress/deps.sh)"
command -v podman >/dev/null || fail "podman is not installed (regress/deps.sh)"
htpasswd_add alice apass
auth_start '	allow pull from any
	allow push from user "alice"'
REG=127.0.0.1:$TPORT
mkdir -p "$T/certs"
cp "$T/ca.crt" "$T/certs/ca.crt"
printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo '{}' > "$REGISTRY_AUTH_FILE"
export XDG_RUNTIME_DIR=$T/xdg
mkdir -p "$XDG_RUNTIME_DIR"
P="podman --root $T/proot --runroot $T/prun --storage-driver vfs"
P="$P --cgroup-manager cgroupfs --events-backend none"
make_oci_layout "$T/src" v1 amd64

skopeo --policy "$T/policy.json" copy --dest-cert-dir "$T/certs" \
    --dest-creds alice:apass "oci:$T/src:v1" "docker://$REG/pub/img:v1" \
    > "$T/out" 2>&1 || fail "alice's push: $(cat "$T/out")"
$P pull --cert-dir "$T/certs" "$REG/pub/img:v1" > "$T/out" 2>&1 ||
    fail "anonymous podman pull: $(cat "$T/out")"
$P image exists "$REG/pub/img:v1" || fail "pulled image not in podman's store"
skopeo --policy "$T/policy.json" copy --dest-cert-dir "$T/certs" \
    "oci:$T/src:v1" "docker://$REG/pub/img:v2" > "$T/out" 2>&1 &&
    fail "anonymous skopeo push succeeded"
grep -qi 'unauthorized' "$T/out" || fail "anonymous push: $(cat "$T/out")"
grep -q 'failed login' "$T/regd.log" &&
    fail "anonymous requests counted as failed logins"
regd_stop
