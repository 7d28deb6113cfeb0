#!/bin/bash
# The upstream is Distribution over TLS (a CA of the test's own, given
# to regd as "ca file") with htpasswd Basic authentication (regd logs in
# with a "credentials" file).  podman, told by registries.conf that
# regd mirrors that registry (whose own address does not answer),
# pulls a two-platform image's amd64 image through regd's whole-server
# mirror with the upstream's digest; a mirror without the credentials
# gets a 503 UNAVAILABLE, not the upstream's bytes.
. regress/lib.sh
. regress/authlib.sh
. regress/mirrorlib.sh

skopeo_setup
export TMPDIR=$T/vtmp
mkdir -p "$TMPDIR"
pm()
{
	podman --root "$T/proot" --runroot "$T/prun" --tmpdir "$T/ptmp" \
	    --network-config-dir "$T/pnet" --storage-driver vfs \
	    --cgroup-manager=cgroupfs --events-backend=none "$@" \
	    2>"$T/podman.err" || fail "podman $*: $(tail -5 "$T/podman.err")"
}

up_tls_start "$T/up" mirror 'up-secret'
dport=${DREG_URL##*:}

make_oci_layout "$T/multi" multi amd64 arm64
sk copy --all --dest-creds mirror:up-secret --dest-cert-dir "$T/certs.d" \
    --dest-tls-verify=false "oci:$T/multi:multi" \
    "docker://127.0.0.1:$dport/lib/multi:v1"
top=$(curl -s --cacert "$T/ca.crt" -u mirror:up-secret -o /dev/null -D - \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    "https://127.0.0.1:$dport/v2/lib/multi/manifests/v1" | tr -d '\r' |
    awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }')
check_match "$top" '^sha256:' "upstream index digest"

regd_start "upstream \"corp\" {
	url \"https://127.0.0.1:$dport\"
	credentials \"$T/up.cred\"
	ca file \"$T/ca.crt\"
}
upstream \"nocreds\" {
	url \"https://localhost:$dport\"
	ca file \"$T/ca.crt\"
}" '	mirror "corp"
	mirror "nocreds" prefix "anon"'
grep -q up-secret "$T/regd.log" && fail "the password is in the log"

cat > "$T/registries.conf" <<EOD
[[registry]]
prefix = "corp.test"
location = "127.0.0.1:1"
[[registry.mirror]]
location = "127.0.0.1:$PORT"
insecure = true
EOD
export CONTAINERS_REGISTRIES_CONF=$T/registries.conf
pm pull --arch amd64 corp.test/lib/multi:v1 > /dev/null
digest=$(pm image inspect --format '{{.Digest}}' corp.test/lib/multi:v1)
# podman reports the digest of what it asked for: the index's.
check_eq "$digest" "$top" "digest podman reports"
http GET "$URL/v2/lib/multi/manifests/v1" \
    -H 'Accept: application/vnd.oci.image.index.v1+json'
check_eq "$STATUS" 200 "the index from regd"
check_eq "$(hdr Docker-Content-Digest)" "$top" "index digest from regd"

# Basic credentials are sent from the first answer that asked for them.
n=$(grep '"regd-mirror"' "$T/dreg.log" | grep -c '" 401 ')
check_eq "$n" 1 "upstream 401s to regd"

# The same upstream without credentials: refused there, an error here.
http GET "$URL/v2/anon/lib/multi/manifests/v1" --max-time 20
expect_error 503 UNAVAILABLE
check_match "$(json_get '.errors[0].message')" 'credentials' "message"
regd_stop
