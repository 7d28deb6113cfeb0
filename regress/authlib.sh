# regress/authlib.sh: helpers for the TLS and authentication tests,
# sourced after regress/lib.sh.

# make_certs: a CA in $T/ca.crt and a server certificate for 127.0.0.1,
# ::1 and localhost signed by it in $T/server.crt and $T/server.key.
# make_certs NAME makes $T/NAME.crt and $T/NAME.key instead (same CA).
make_certs()
{
	local n=${1:-server}

	if [ ! -f "$T/ca.key" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		    -subj "/CN=regd test CA" -keyout "$T/ca.key" \
		    -out "$T/ca.crt" >/dev/null 2>&1 || fail "openssl CA"
	fi
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$n" \
	    -keyout "$T/$n.key" -out "$T/$n.csr" >/dev/null 2>&1 ||
	    fail "openssl server request"
	printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n' \
	    > "$T/$n.ext"
	openssl x509 -req -in "$T/$n.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
	    -CAcreateserial -days 2 -extfile "$T/$n.ext" \
	    -out "$T/$n.crt" >/dev/null 2>&1 || fail "openssl server cert"
}

# regd_launch_any: regd_launch for servers whose /v2/ may answer 401 or
# speak only TLS: any HTTP answer on $URL/v2/ means regd is up.
regd_launch_any()
{
	local n=100 code

	REGCTL="$REGCTL_BIN -s $T/regd.sock"
	${REGD_WRAP:-} "$REGD" -d -f "$T/regd.conf" "$@" >> "$T/regd.log" 2>&1 &
	REGD_PID=$!
	while [ "$n" -gt 0 ]; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    --cacert "$T/ca.crt" "$URL/v2/" 2>/dev/null)
		case $code in
		200 | 401)
			return 0
			;;
		esac
		alive "$REGD_PID" || break
		sleep 0.1
		n=$((n - 1))
	done
	echo "--- $T/regd.conf" >&2
	cat "$T/regd.conf" >&2
	echo "--- $T/regd.log" >&2
	cat "$T/regd.log" >&2
	fail "regd did not answer $URL/v2/ within 10 s"
}

# tls_start [global-lines] [server-lines]: regd with a plain listener on
# $PORT and a TLS one on $TPORT (certificate from make_certs); $URL is
# the TLS one, $PLAIN the other.
tls_start()
{
	[ -f "$T/server.crt" ] || make_certs
	TPORT=$(free_port)
	regd_conf "${1:-}" "	listen on 127.0.0.1 port $TPORT tls
	tls certificate \"$T/server.crt\"
	tls key \"$T/server.key\"
${2:-}"
	PLAIN=http://127.0.0.1:$PORT
	URL=https://127.0.0.1:$TPORT
	regd_launch_any
}

# htpasswd_add USER PASS: add a bcrypt entry to $T/htpasswd.
htpasswd_add()
{
	htpasswd -Bbn "$1" "$2" | sed -e '/^$/d' >> "$T/htpasswd" ||
	    fail "htpasswd"
}

# auth_start [server-lines] [global-lines]: regd over TLS with Basic
# authentication from $T/htpasswd, then the extra server lines.
auth_start()
{
	tls_start "${2:-}" "	authenticate \"regd test\" with \"$T/htpasswd\"
${1:-}"
}

# expect_challenge: the last answer is a 401 UNAUTHORIZED with a Basic
# challenge.
expect_challenge()
{
	expect_error 401 UNAUTHORIZED
	check_match "$(hdr WWW-Authenticate)" '^Basic realm="[^"]+"$' \
	    "WWW-Authenticate of the 401"
}

# as_user USER:PASS (or nothing for anonymous): every curl of lib.sh's
# helpers from now on trusts the test CA and logs in as that user.
as_user()
{
	export CURL_HOME=$T
	{
		printf 'cacert = "%s"\n' "$T/ca.crt"
		[ -n "${1:-}" ] && printf 'user = "%s"\n' "$1"
	} > "$T/.curlrc"
	return 0
}

# token_start [server-lines]: make an RS256 issuer key ($T/rsa.key) and
# start regd over TLS taking its bearer tokens (service "regd.test",
# issuer "test-issuer").
token_start()
{
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	    -subj "/CN=issuer rsa" -keyout "$T/rsa.key" -out "$T/rsa.crt" \
	    >/dev/null 2>&1 || fail "issuer key"
	tls_start "" "	authenticate with token realm \"https://auth.test/token\" service \"regd.test\" issuer \"test-issuer\" certificate \"$T/rsa.crt\"
${1:-}"
}

b64url()
{
	openssl base64 -A | tr '+/' '-_' | tr -d '='
}

# token HEADER-JSON CLAIMS-JSON: a token signed with $T/rsa.key.
token()
{
	local h p

	h=$(printf '%s' "$1" | b64url)
	p=$(printf '%s' "$2" | b64url)
	printf '%s.%s.%s\n' "$h" "$p" "$(printf '%s.%s' "$h" "$p" |
	    openssl dgst -sha256 -sign "$T/rsa.key" | b64url)"
}

# token_claims SUB ACCESS-JSON: claims valid for five minutes.
token_claims()
{
	local now

	now=$(date +%s)
	printf '{"iss":"test-issuer","sub":"%s","aud":"regd.test","exp":%d,"nbf":%d,"iat":%d,"access":%s}' \
	    "$1" $((now + 300)) $((now - 5)) "$now" "$2"
}

# as_token TOKEN: every curl of lib.sh's helpers sends it from now on.
as_token()
{
	export CURL_HOME=$T
	printf 'cacert = "%s"\nheader = "Authorization: Bearer %s"\n' \
	    "$T/ca.crt" "$1" > "$T/.curlrc"
}

# nginx_start HTTP-BLOCK: start Debian's nginx under $T/nginx with the
# given upstream and server blocks inside "http { }" (they listen on
# $NPORT, which the caller picks first); it is stopped on exit together
# with regd.
nginx_start()
{
	local n=0

	command -v nginx >/dev/null ||
	    fail "nginx is not installed (regress/deps.sh)"
	mkdir -p "$T/nginx/logs"
	cat > "$T/nginx.conf" <<NGEOF
user root;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $T/nginx/access.log;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
$1
}
NGEOF
	nginx -p "$T/nginx" -c "$T/nginx.conf" > "$T/nginx.out" 2>&1 ||
	    fail "nginx did not start: $(cat "$T/nginx.out" \
	    "$T/nginx/error.log" 2>/dev/null)"
	trap nginx_stop EXIT
	until curl -s -o /dev/null "http://127.0.0.1:$NPORT/v2/"; do
		n=$((n + 1))
		[ $n -lt 50 ] || fail "nginx does not answer"
		sleep 0.1
	done
}

# nginx_stop: the EXIT trap of nginx_start; stops a docker-registry of
# dreg_start too, and exits with the test's status.
nginx_stop()
{
	local rc=$?

	[ -f "$T/nginx/nginx.pid" ] &&
	    kill "$(cat "$T/nginx/nginx.pid")" 2>/dev/null
	dreg_stop
	(exit "$rc")
	regd_cleanup
}
