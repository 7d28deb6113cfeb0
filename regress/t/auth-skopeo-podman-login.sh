# Real clients over TLS with the test CA given by --cert-dir: skopeo login
# and podman login succeed with the right password and fail with a wrong
# one; after login both push and pull; without credentials push fails.
. regress/lib.sh
. regress/authlib.sh

command -v skopeo >/dev/null || fail "skopeo is not installed (regress/deps.sh)"
command -v podman >/dev/null || fail "podman is not installed (regress/deps.sh)"
htpasswd_add alice 'open sesame'
auth_start
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
sk()
{
	skopeo --policy "$T/policy.json" "$@"
}
make_oci_layout "$T/src" v1 amd64

# skopeo: a wrong password is refused, the right one logs in.
sk login --cert-dir "$T/certs" -u alice -p 'bad' "$REG" > "$T/out" 2>&1 &&
    fail "skopeo login with a wrong password succeeded: $(cat "$T/out")"
grep -qi 'unauthorized\|401\|invalid username/password' "$T/out" ||
    fail "skopeo login failure: $(cat "$T/out")"
# Without credentials a push fails.
sk copy --dest-cert-dir "$T/certs" "oci:$T/src:v1" \
    "docker://$REG/lib/skopeo:v1" > "$T/out" 2>&1 &&
    fail "anonymous skopeo push succeeded"
sk login --cert-dir "$T/certs" -u alice -p 'open sesame' "$REG" \
    > "$T/out" 2>&1 || fail "skopeo login: $(cat "$T/out")"
sk copy --dest-cert-dir "$T/certs" "oci:$T/src:v1" \
    "docker://$REG/lib/skopeo:v1" > "$T/out" 2>&1 ||
    fail "skopeo push after login: $(cat "$T/out")"
sk copy --src-cert-dir "$T/certs" "docker://$REG/lib/skopeo:v1" \
    "oci:$T/back:v1" > "$T/out" 2>&1 ||
    fail "skopeo pull after login: $(cat "$T/out")"
cmp -s "$T/src/blobs/sha256/$(jq -r '.manifests[0].digest' "$T/src/index.json" |
    cut -d: -f2)" "$T/back/blobs/sha256/$(jq -r '.manifests[0].digest' \
    "$T/back/index.json" | cut -d: -f2)" || fail "manifest differs after pull"
sk logout "$REG" > /dev/null 2>&1

# podman: the same with its own storage under $T.
$P login --cert-dir "$T/certs" -u alice -p 'wrong' "$REG" > "$T/out" 2>&1 &&
    fail "podman login with a wrong password succeeded: $(cat "$T/out")"
sk copy "oci:$T/src:v1" \
    "containers-storage:[vfs@$T/proot+$T/prun]localhost/src:v1" \
    > "$T/out" 2>&1 || fail "OCI layout into podman's storage: $(cat "$T/out")"
img=localhost/src:v1
$P push --cert-dir "$T/certs" "$img" "docker://$REG/lib/podman:v1" \
    > "$T/out" 2>&1 && fail "anonymous podman push succeeded"
$P login --cert-dir "$T/certs" -u alice -p 'open sesame' "$REG" \
    > "$T/out" 2>&1 || fail "podman login: $(cat "$T/out")"
$P push --cert-dir "$T/certs" "$img" "docker://$REG/lib/podman:v1" \
    > "$T/out" 2>&1 || fail "podman push after login: $(cat "$T/out")"
$P rmi -f "$img" > /dev/null 2>&1
$P pull --cert-dir "$T/certs" "$REG/lib/podman:v1" > "$T/out" 2>&1 ||
    fail "podman pull after login: $(cat "$T/out")"
$P logout "$REG" > /dev/null 2>&1
$P pull --cert-dir "$T/certs" "$REG/lib/podman:v1" > "$T/out" 2>&1 &&
    fail "anonymous podman pull succeeded (no rule allows it)"
regd_stop
