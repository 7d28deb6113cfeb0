# Two regd on one shared store behind nginx (upstream round robin, no
# sticky sessions): skopeo copy --all pushes a two-platform index through
# the balancer, both instances take part of the push (their access logs
# show it), and each instance pulls the whole index back directly with
# the same digests.
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh

command -v skopeo >/dev/null || skip "skopeo is not installed"
printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
export REGISTRY_AUTH_FILE=$T/auth.json
echo "{}" > "$REGISTRY_AUTH_FILE"
sk()
{
	skopeo --policy "$T/policy.json" "$@" 2>&1 || fail "skopeo $*"
}

replica_start 1
replica_start 2
replicas_balance

make_oci_layout "$T/src" multi amd64 arm64
idigest=$(jq -r '.manifests[0].digest' "$T/src/index.json")
sk copy --all --dest-tls-verify=false "oci:$T/src:multi" \
    "docker://127.0.0.1:$NPORT/lib/multi:v1" > "$T/push.log"

for n in 1 2; do
	c=$(replicas_logged $n '"(POST|PATCH|PUT|HEAD) /v2/lib/multi/')
	[ "$c" -ge 1 ] || fail "instance $n took no part in the push"
	note "instance $n took $c requests of the push"
done

# Upload sessions that moved: begun or written on one, ended on the other.
for n in 1 2; do
	grep -oE '"(PATCH|PUT) /v2/lib/multi/blobs/uploads/[0-9a-f-]{36}' \
	    "$T/r$n/access.log" | grep -oE '[0-9a-f-]{36}$' | sort -u > "$T/s$n"
done
moved=$(comm -12 "$T/s1" "$T/s2" | wc -l)
[ "$moved" -ge 1 ] || fail "no upload session moved between the instances"
note "$moved upload sessions had PATCH or PUT requests on both instances"

for n in 1 2; do
	sk copy --all --src-tls-verify=false \
	    "docker://127.0.0.1:${RPORT[$n]}/lib/multi:v1" \
	    "oci:$T/back$n:v1" > "$T/pull$n.log"
	check_eq "$(jq -r '.manifests[0].digest' "$T/back$n/index.json")" \
	    "$idigest" "index digest pulled from instance $n"
	for f in "$T"/src/blobs/sha256/*; do
		cmp -s "$f" "$T/back$n/blobs/sha256/${f##*/}" ||
		    fail "blob ${f##*/} differs from instance $n"
	done
done
exit 0
