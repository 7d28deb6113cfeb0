# regress/mirrorlib.sh: what the mirror tests share, sourced after
# regress/lib.sh (and regress/authlib.sh for up_tls_start and
# up_throttled).  The upstream is Debian's docker-registry (CNCF
# Distribution) on loopback, started by dreg_start or up_tls_start.
#
#   up_blob REPO FILE		seed a blob into the upstream (201)
#   up_manifest REPO REF FILE [TYPE]
#				seed a manifest (OCI image by default)
#   up_image REPO TAG LAYER...	a config of its own, the LAYER files and
#				an OCI image manifest naming them, seeded;
#				sets UP_DIGEST, UP_CONFIG (digest) and
#				UP_CONFIG_FILE
#   mirror_start URL LINES [OPTS] [GLOBAL]
#				regd_start with upstream "up" at URL
#				(OPTS: more lines of its block), the
#				server's mirror LINES and GLOBAL lines
#   up_tls_start DIR USER PASS	Distribution over TLS (make_certs's
#				CA) with htpasswd USER; DREG_URL is its
#				https URL, $T/up.cred regd's credentials
#   up_throttled RATE		nginx on NPORT in front of DREG_URL,
#				sending RATE (nginx limit_rate) at most
#   skopeo_setup		sk ARGS: skopeo with an accept-all policy,
#				fails the test with its output

# curl's options for the upstream (TLS, login) when seeding it.
UP_CURL=

up_blob()
{
	local d loc code

	d=$(sha "$2")
	loc=$(curl -s $UP_CURL -X POST -D - -o /dev/null \
	    "$DREG_URL/v2/$1/blobs/uploads/" | tr -d '\r' |
	    awk -F': ' 'tolower($1) == "location" { print $2 }')
	[ -n "$loc" ] || fail "seeding $1: no upload location"
	case $loc in http*) ;; *) loc=$DREG_URL$loc ;; esac
	code=$(curl -s $UP_CURL -o /dev/null -w '%{http_code}' -X PUT \
	    -H 'Content-Type: application/octet-stream' --data-binary "@$2" \
	    "$(add_query "$loc" "digest=$d")")
	check_eq "$code" 201 "seeding $1 with $d"
}

up_manifest()
{
	local code

	code=$(curl -s $UP_CURL -o /dev/null -w '%{http_code}' -X PUT \
	    -H "Content-Type: ${4:-application/vnd.oci.image.manifest.v1+json}" \
	    --data-binary "@$3" "$DREG_URL/v2/$1/manifests/$2")
	check_eq "$code" 201 "seeding $1:$2"
}

up_image()
{
	local repo=$1 tag=$2 d=$T/upimg.$RANDOM$RANDOM f layers='[]'

	shift 2
	mkdir -p "$d"
	printf '{"architecture":"amd64","os":"linux","n":"%s"}' \
	    "$repo:$tag:$RANDOM" > "$d/config"
	up_blob "$repo" "$d/config"
	for f in "$@"; do
		up_blob "$repo" "$f"
		layers=$(jq -c --arg l "$(sha "$f")" \
		    --argjson s "$(stat -c %s "$f")" '. + [{mediaType:
		    "application/vnd.oci.image.layer.v1.tar+gzip",
		    digest: $l, size: $s}]' <<< "$layers")
	done
	UP_CONFIG=$(sha "$d/config")
	UP_CONFIG_FILE=$d/config
	jq -cn --arg c "$UP_CONFIG" --argjson cs "$(stat -c %s "$d/config")" \
	    --argjson l "$layers" '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json",
		    digest: $c, size: $cs}, layers: $l}' > "$d/manifest"
	UP_DIGEST=$(sha "$d/manifest")
	up_manifest "$repo" "$tag" "$d/manifest"
}

mirror_start()
{
	regd_start "upstream \"up\" {
	url \"$1\"
${3:-}
}
${4:-}" "$2"
}

up_tls_start()
{
	make_certs
	htpasswd_add "$2" "$3"
	printf '%s:%s\n' "$2" "$3" > "$T/up.cred"
	chmod 600 "$T/up.cred"
	mkdir -p "$1"
	dreg_start "$1" "  tls:
    certificate: $T/server.crt
    key: $T/server.key
auth:
  htpasswd:
    realm: upstream
    path: $T/htpasswd"
	UP_CURL="$DREG_CURL -u $2:$3"
}

up_throttled()
{
	NPORT=$(free_port)
	nginx_start "
	server {
		listen 127.0.0.1:$NPORT;
		client_max_body_size 0;
		location / {
			proxy_pass $DREG_URL;
			limit_rate $1;
		}
	}"
}

skopeo_setup()
{
	printf '{"default":[{"type":"insecureAcceptAnything"}]}' \
	    > "$T/policy.json"
	export REGISTRY_AUTH_FILE=$T/auth.json
	echo "{}" > "$REGISTRY_AUTH_FILE"
}

sk()
{
	skopeo --policy "$T/policy.json" "$@" > "$T/sk.out" 2>&1 ||
	    fail "skopeo $*: $(tail -5 "$T/sk.out")"
}
