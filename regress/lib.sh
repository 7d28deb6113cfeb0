# regress/lib.sh: helpers sourced by every regress/t/*.sh test (bash).
#
# A test runs from the repository root, sources this file, and exits 0 on
# success.  Everything it creates lives under $T, removed on exit unless
# KEEP=1.  See regress/run.sh for the runner.

REGD=${REGD:-./regd/regd}
REGCTL_BIN=${REGCTL_BIN:-./regctl/regctl}
REGD_PID=
URL=
REGCTL=

if [ "$(id -u)" -eq 0 ]; then
	REGD_ROOT=1
else
	REGD_ROOT=0
fi

if [ -n "${REGD_ASAN:-}" ]; then
	# LeakSanitizer needs ptrace, which the sandbox forbids.
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/regd-test.XXXXXXXX") || exit 1
chmod 0755 "$T"
BODY=$T/body
HDRS=$T/hdrs
STATUS=

# Print a message and fail the test.
fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

# skip "reason": the test cannot run here (exit 77); run.sh prints SKIP
# and counts it neither as passed nor as failed.
skip()
{
	echo "SKIP: $*" >&2
	exit 77
}

note()
{
	echo "# $*" >&2
}

# check_eq got want what
check_eq()
{
	if [ "$1" != "$2" ]; then
		fail "$3: got '$1', want '$2'"
	fi
}

# wait_for WHAT CMD...: run CMD every 0.1 s until it succeeds; after 5 s
# fail with WHAT.
wait_for()
{
	local n=50 what=$1

	shift
	until "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || fail "$what"
		sleep 0.1
	done
}

# check_match got extended-regex what
check_match()
{
	if ! printf '%s\n' "$1" | grep -Eq -- "$2"; then
		fail "$3: '$1' does not match /$2/"
	fi
}

# True if a process exists and is not a zombie.
alive()
{
	local st

	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# The title of a process as ps would show it: its argv joined by spaces.
proc_title()
{
	tr '\0' ' ' 2>/dev/null < "/proc/$1/cmdline" | sed -e 's/ *$//'
}

proc_ppid()
{
	sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2
}

# procs_of PID: "pid title" for PID and every descendant, one a line.
# One awk reads every /proc/N/stat, so polling loops stay cheap.
procs_of()
{
	local p

	alive "$1" || return 0
	# cat, unlike mawk, goes on past processes that exit meanwhile.
	for p in $(cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
	{
		s = $0
		sub(/^.*\) /, "", s)
		split(s, f, " ")
		if (f[1] != "Z" && f[1] != "X")
			kids[f[2]] = kids[f[2]] " " $1
	}
	END {
		q[1] = root
		n = 1
		for (i = 1; i <= n; i++) {
			print q[i]
			m = split(kids[q[i]], c, " ")
			for (j = 1; j <= m; j++)
				q[++n] = c[j]
		}
	}'); do
		echo "$p $(proc_title "$p")"
	done
}

# pids_titled WORD: pids in regd's tree whose title contains "regd: WORD".
pids_titled()
{
	procs_of "$REGD_PID" | awk -v t="regd: $1" 'index($0, t) { print $1 }'
}

# Pick a free TCP port on 127.0.0.1 from 20000 up.
free_port()
{
	local p i

	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if command -v ss >/dev/null 2>&1; then
			if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
				echo "$p"
				return 0
			fi
		elif ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	fail "no free port found"
}

# regd_conf [extra-global-lines] [extra-server-lines]: write $T/regd.conf.
# REGD_DELETE=no leaves "delete yes" out of the server block.
# regd_conf_s3: with REGD_BACKEND=s3 and S3_ENDPOINT, S3_BUCKET,
# S3_ACCESS_KEY and S3_SECRET_KEY set (as regress/s3/ceph.sh's env), a
# "storage s3" block on that bucket under a root of this test's own, with
# $T/storage as its cache; otherwise nothing.
regd_conf_s3()
{
	[ "${REGD_BACKEND:-fs}" = s3 ] || return 0
	[ -n "${S3_ENDPOINT:-}" ] && [ -n "${S3_BUCKET:-}" ] ||
	    fail "REGD_BACKEND=s3 without S3_ENDPOINT and S3_BUCKET"
	(umask 077; printf '%s\n' "$S3_SECRET_KEY" > "$T/s3.secret")
	cat <<EOF
storage s3 {
	endpoint "$S3_ENDPOINT"
	region "${S3_REGION:-us-east-1}"
	bucket "$S3_BUCKET"
	root "${S3_ROOT:-/regress/${T##*/}}"
	path style yes
	access key "$S3_ACCESS_KEY"
	secret file "$T/s3.secret"
	cache "${S3_CACHE_DIR:-$T/storage}" size ${S3_CACHE_SIZE:-256M}
	redirect ${S3_REDIRECT:-no}
}
EOF
}

# replica_storage_s3 (regress/replicas.sh, inside replica_start, whose
# $d is the instance's directory): the bucket's block, with a cache of
# the instance's own.
replica_storage_s3()
{
	mkdir -p "$d/cache"
	if [ "$REGD_ROOT" -eq 1 ]; then
		chown -R _regd "$d/cache" || fail "chown _regd $d/cache"
	fi
	printf 'storage "%s"\n' "$d/cache"
	S3_CACHE_DIR=$d/cache regd_conf_s3
}

regd_conf()
{
	local del="delete yes"

	[ "${REGD_DELETE:-yes}" = no ] && del="# deletes off"
	[ -n "${PORT:-}" ] || PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
	mkdir -p "$T/storage"
	if [ "$REGD_ROOT" -eq 1 ]; then
		chown -R _regd "$T/storage" || fail "chown _regd $T/storage"
	fi
	cat > "$T/regd.conf" <<EOF
storage "$T/storage"
$(regd_conf_s3)
socket "$T/regd.sock"
prefork 2
log access "$T/access.log"
${1:-}

server "regress" {
	listen on 127.0.0.1 port $PORT
	$del
${2:-}
}
EOF
}

# conf_bad LINE CONTENT [TEXT]: "regd -n" on a file of CONTENT exits 1,
# names FILE:LINE: (and TEXT, when given) and never says it is OK.
conf_bad()
{
	local want=$1 f=$T/bad.conf out rc

	printf '%s\n' "$2" > "$f"
	out=$("$REGD" -n -f "$f" 2>&1)
	rc=$?
	echo "--- line $want of:" >&2
	cat -n "$f" >&2
	echo "$out" | sed -e 's/^/  => /' >&2
	check_eq "$rc" 1 "exit status"
	echo "$out" | grep -qF "$f:$want:" || fail "no '$f:$want:' in: $out"
	[ -z "${3:-}" ] || echo "$out" | grep -qF -- "$3" ||
	    fail "no '$3' in: $out"
	echo "$out" | grep -q 'configuration OK' && fail "said OK: $out"
	return 0
}

# wait_v2 [seconds]: wait until GET /v2/ answers, 0 if it did.
wait_v2()
{
	local n=$(( ${1:-10} * 10 ))

	while [ "$n" -gt 0 ]; do
		if curl -sf -o /dev/null --max-time 2 "$URL/v2/"; then
			return 0
		fi
		if [ -n "$REGD_PID" ] && ! alive "$REGD_PID"; then
			return 1
		fi
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# regd_launch [args...]: start regd on the existing $T/regd.conf.
# REGD_WRAP is a command put in front of it (e.g. setpriv ...), which must
# exec regd so that REGD_PID is regd's pid.
regd_launch()
{
	REGCTL="$REGCTL_BIN -s $T/regd.sock"
	[ -n "$URL" ] || URL=http://127.0.0.1:$PORT
	${REGD_WRAP:-} "$REGD" -d -f "$T/regd.conf" "$@" >> "$T/regd.log" 2>&1 &
	REGD_PID=$!
	if ! wait_v2 10; then
		echo "--- $T/regd.conf" >&2
		cat "$T/regd.conf" >&2
		echo "--- $T/regd.log" >&2
		cat "$T/regd.log" >&2
		if ! alive "$REGD_PID"; then
			wait "$REGD_PID"
			REGD_RC=$?
			REGD_PID=
			fail "regd exited with status $REGD_RC before answering"
		fi
		fail "regd did not answer $URL/v2/ within 10 s"
	fi
}

# regd_start [extra-global-lines] [extra-server-lines]
regd_start()
{
	regd_conf "${1:-}" "${2:-}"
	regd_launch
}

# regd_wait_gone SECONDS PID...: 0 if every PID is gone in time.
regd_wait_gone()
{
	local n=$(( $1 * 10 )) p left

	shift
	while :; do
		left=
		for p in "$@"; do
			alive "$p" && left="$left $p"
		done
		[ -z "$left" ] && return 0
		[ "$n" -le 0 ] && return 1
		sleep 0.1
		n=$((n - 1))
	done
}

# regd_stop: SIGTERM, wait up to 5 s, fail if any regd process remains.
regd_stop()
{
	local pids p left

	[ -n "$REGD_PID" ] || return 0
	pids=$(procs_of "$REGD_PID" | awk '{ print $1 }')
	kill -TERM "$REGD_PID" 2>/dev/null
	if ! regd_wait_gone 5 $pids; then
		left=
		for p in $pids; do
			alive "$p" && left="$left $p($(proc_title "$p"))"
		done
		for p in $pids; do
			kill -KILL "$p" 2>/dev/null
		done
		wait "$REGD_PID" 2>/dev/null
		REGD_PID=
		fail "regd processes left 5 s after SIGTERM:$left"
	fi
	wait "$REGD_PID" 2>/dev/null
	REGD_RC=$?
	REGD_PID=
	asan_check
	return 0
}

# Sanitizer reports in the daemon's log fail the test.
asan_check()
{
	if [ -f "$T/regd.log" ] &&
	    grep -Eq 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error:' \
	    "$T/regd.log"; then
		sed -e 's/^/    /' "$T/regd.log" >&2
		echo "FAIL: sanitizer report in regd.log" >&2
		return 1
	fi
	return 0
}

regd_cleanup()
{
	local rc=$? p pids

	trap - EXIT
	if [ -n "$REGD_PID" ]; then
		pids=$(procs_of "$REGD_PID" | awk '{ print $1 }')
		kill -TERM "$REGD_PID" 2>/dev/null
		if ! regd_wait_gone 5 $pids; then
			for p in $pids; do
				kill -KILL "$p" 2>/dev/null
			done
		fi
		wait "$REGD_PID" 2>/dev/null
	fi
	if [ "$rc" -ne 77 ] && ! asan_check; then
		[ "$rc" -eq 0 ] && rc=1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -f "$T/regd.log" ]; then
		echo "--- last lines of regd.log" >&2
		tail -n 40 "$T/regd.log" >&2
	fi
	if [ -n "${KEEP:-}" ]; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap regd_cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# http METHOD URL [curl args...]: sets $STATUS, $BODY (file), $HDRS (file).
http()
{
	local method=$1 url=$2

	shift 2
	: > "$BODY"
	: > "$HDRS"
	if [ "$method" = HEAD ]; then
		STATUS=$(curl -s -I -o /dev/null -D "$HDRS" -w '%{http_code}' \
		    "$@" "$url")
	else
		STATUS=$(curl -s -o "$BODY" -D "$HDRS" -w '%{http_code}' \
		    -X "$method" "$@" "$url")
	fi
	[ -n "$STATUS" ] || STATUS=000
	return 0
}

# hdr Name: the value of a header of the last response in $HDRS.
hdr()
{
	tr -d '\r' < "$HDRS" | awk -v name="$1" '
	/^HTTP\// { n = 0; delete v; next }
	{
		i = index($0, ":")
		if (i == 0)
			next
		k = tolower(substr($0, 1, i - 1))
		if (k == tolower(name) && !(k in v)) {
			s = substr($0, i + 1)
			sub(/^[ \t]*/, "", s)
			sub(/[ \t]*$/, "", s)
			v[k] = s
		}
	}
	END { if (tolower(name) in v) print v[tolower(name)] }'
}

# json_get '.jq.path': read from $BODY.
json_get()
{
	jq -r "$1" < "$BODY"
}

# expect_error STATUS CODE: an error answer as the spec words it.
expect_error()
{
	local ct

	check_eq "$STATUS" "$1" "status"
	ct=$(hdr Content-Type)
	check_match "$ct" '^application/json' "Content-Type of the error"
	if ! jq -e '(.errors | type == "array") and (.errors | length > 0)
	    and all(.errors[]; (.code | type == "string") and
	    (.message | type == "string"))' < "$BODY" >/dev/null 2>&1; then
		fail "error body is not the spec's error JSON: $(head -c 500 "$BODY")"
	fi
	if ! jq -e --arg c "$2" 'any(.errors[]; .code == $c)' < "$BODY" \
	    >/dev/null 2>&1; then
		fail "error code $2 not in: $(head -c 500 "$BODY")"
	fi
}

# make_blob SIZE FILE: SIZE random bytes.
make_blob()
{
	head -c "$1" /dev/urandom > "$2"
}

# sha FILE: prints sha256:<hex>.
sha()
{
	echo "sha256:$(sha256sum < "$1" | cut -d' ' -f1)"
}

# push_blob REPO FILE: monolithic upload in one POST; fails unless 201.
push_blob()
{
	local d

	d=$(sha "$2")
	http POST "$URL/v2/$1/blobs/uploads/?digest=$d" \
	    -H 'Content-Type: application/octet-stream' --data-binary "@$2"
	if [ "$STATUS" != 201 ]; then
		fail "push_blob $1 $2: status $STATUS: $(head -c 500 "$BODY")"
	fi
}

# push_manifest REPO REF FILE TYPE: PUT a manifest; fails unless 201.
push_manifest()
{
	http PUT "$URL/v2/$1/manifests/$2" -H "Content-Type: $4" \
	    --data-binary "@$3"
	if [ "$STATUS" != 201 ]; then
		fail "push_manifest $1 $2: status $STATUS: $(head -c 500 "$BODY")"
	fi
}

# loc_url LOCATION: the absolute URL of a Location header's value, which
# the spec lets a registry give as a path or as a full URL.
loc_url()
{
	case $1 in
	http://* | https://*)
		printf '%s\n' "$1"
		;;
	*)
		printf '%s%s\n' "$URL" "$1"
		;;
	esac
}

# add_query URL PARAM: URL with one more query parameter (PARAM is k=v).
add_query()
{
	case $1 in
	*\?*)
		printf '%s&%s\n' "$1" "$2"
		;;
	*)
		printf '%s?%s\n' "$1" "$2"
		;;
	esac
}

# upload_start REPO: open an upload session; sets LOC to its absolute URL.
upload_start()
{
	http POST "$URL/v2/$1/blobs/uploads/" -H 'Content-Length: 0'
	if [ "$STATUS" != 202 ]; then
		fail "upload_start $1: status $STATUS: $(head -c 500 "$BODY")"
	fi
	LOC=$(hdr Location)
	[ -n "$LOC" ] || fail "upload_start $1: no Location header"
	LOC=$(loc_url "$LOC")
}

# push_image REPO REF [ARCH]: push a small config, one random layer and an
# OCI image manifest naming them.  Sets IMG_MANIFEST (the manifest's file),
# IMG_DIGEST, IMG_SIZE, IMG_CONFIG and IMG_LAYER (digests).
push_image()
{
	local d=$T/img.$RANDOM$RANDOM

	mkdir -p "$d"
	printf '{"architecture":"%s","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%064d"]}}' \
	    "${3:-amd64}" "$RANDOM" > "$d/config"
	make_blob $((1000 + RANDOM % 1000)) "$d/layer"
	push_blob "$1" "$d/config"
	push_blob "$1" "$d/layer"
	IMG_CONFIG=$(sha "$d/config")
	IMG_LAYER=$(sha "$d/layer")
	jq -cn --arg c "$IMG_CONFIG" --argjson cs "$(stat -c %s "$d/config")" \
	    --arg l "$IMG_LAYER" --argjson ls "$(stat -c %s "$d/layer")" '{
		schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: { mediaType: "application/vnd.oci.image.config.v1+json",
		    digest: $c, size: $cs },
		layers: [ { mediaType:
		    "application/vnd.oci.image.layer.v1.tar+gzip",
		    digest: $l, size: $ls } ]
	    }' > "$d/manifest"
	IMG_MANIFEST=$d/manifest
	IMG_DIGEST=$(sha "$d/manifest")
	IMG_SIZE=$(stat -c %s "$d/manifest")
	push_manifest "$1" "$2" "$d/manifest" \
	    application/vnd.oci.image.manifest.v1+json
}

# oci_blob DIR FILE: move FILE into the OCI layout DIR as a blob; prints
# its digest.
oci_blob()
{
	local d

	d=$(sha "$2")
	mkdir -p "$1/blobs/sha256"
	mv "$2" "$1/blobs/sha256/${d#sha256:}"
	echo "$d"
}

# make_oci_layout DIR TAG ARCH...: an OCI image layout in DIR with, for
# each ARCH, a tiny linux image whose one layer is a real gzipped tar.  One
# ARCH tags the image as TAG; several tag an image index of them.
make_oci_layout()
{
	local dir=$1 tag=$2 arch w diffid layer config man descs top

	shift 2
	mkdir -p "$dir/blobs/sha256"
	printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
	descs=
	for arch in "$@"; do
		w=$T/layout.$RANDOM$RANDOM
		mkdir -p "$w/root/etc"
		echo "image for $arch, $RANDOM$RANDOM" > "$w/root/etc/motd"
		head -c 4096 /dev/urandom > "$w/root/etc/random"
		tar --sort=name --owner=0 --group=0 --numeric-owner \
		    --mtime=@0 -C "$w/root" -cf "$w/layer.tar" etc ||
		    fail "tar"
		diffid=$(sha "$w/layer.tar")
		gzip -n -c "$w/layer.tar" > "$w/layer.tgz"
		layer=$(stat -c %s "$w/layer.tgz")
		layer="$(oci_blob "$dir" "$w/layer.tgz") $layer"
		jq -cn --arg a "$arch" --arg d "$diffid" '{
			architecture: $a, os: "linux",
			config: { Env: ["PATH=/bin"] },
			rootfs: { type: "layers", diff_ids: [$d] },
			history: [ { created_by: "regress" } ]
		    }' > "$w/config"
		config="$(stat -c %s "$w/config")"
		config="$(oci_blob "$dir" "$w/config") $config"
		jq -cn --arg c "${config% *}" --argjson cs "${config#* }" \
		    --arg l "${layer% *}" --argjson ls "${layer#* }" '{
			schemaVersion: 2,
			mediaType: "application/vnd.oci.image.manifest.v1+json",
			config: { mediaType:
			    "application/vnd.oci.image.config.v1+json",
			    digest: $c, size: $cs },
			layers: [ { mediaType:
			    "application/vnd.oci.image.layer.v1.tar+gzip",
			    digest: $l, size: $ls } ]
		    }' > "$w/manifest"
		man="$(stat -c %s "$w/manifest")"
		man="$(oci_blob "$dir" "$w/manifest") $man"
		descs="$descs$(jq -cn --arg d "${man% *}" \
		    --argjson s "${man#* }" --arg a "$arch" '{
			mediaType: "application/vnd.oci.image.manifest.v1+json",
			digest: $d, size: $s,
			platform: { architecture: $a, os: "linux" }
		    }')
"
		rm -rf "$w"
	done
	if [ $# -eq 1 ]; then
		top=$(printf '%s' "$descs" | jq -c 'del(.platform)')
	else
		w=$T/layout.$RANDOM$RANDOM
		printf '%s' "$descs" | jq -cs '{
			schemaVersion: 2,
			mediaType: "application/vnd.oci.image.index.v1+json",
			manifests: .
		    }' > "$w"
		man="$(stat -c %s "$w")"
		man="$(oci_blob "$dir" "$w") $man"
		top=$(jq -cn --arg d "${man% *}" --argjson s "${man#* }" '{
			mediaType: "application/vnd.oci.image.index.v1+json",
			digest: $d, size: $s
		    }')
	fi
	printf '%s' "$top" | jq -c --arg t "$tag" '{
		schemaVersion: 2,
		manifests: [ . + { annotations:
		    { "org.opencontainers.image.ref.name": $t } } ]
	    }' > "$dir/index.json"
}

# raw_http FILE [SECONDS]: send the bytes of FILE on one new connection to
# 127.0.0.1:$PORT as they are, then read until the server closes or
# SECONDS (default 5) pass.  Sets RAW_OUT (file of the bytes received),
# RAW_CLOSED (1 if the server closed the connection), RAW_TIME (seconds
# to the close or the timeout), RAW_STATUS (status of the first response,
# 000 if none) and RAW_NRESP; $T/raw.resp has one line per final (not 1xx)
# response:
# "status body-length body" with the body JSON-quoted.
raw_http()
{
	local r

	RAW_OUT=$T/raw.out
	r=$(python3 - "$1" "${2:-5}" "$PORT" "$RAW_OUT" "$T/raw.resp" <<'PYEOF'
import json, socket, sys, time

src, limit, port, out, resp = sys.argv[1:6]
data = open(src, "rb").read()
s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
t0 = time.monotonic()
got = b""
closed = 0
try:
    s.sendall(data)
except OSError:
    pass
deadline = t0 + float(limit)
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        b = s.recv(65536)
    except socket.timeout:
        break
    except OSError:
        closed = 1
        break
    if not b:
        closed = 1
        break
    got += b
elapsed = time.monotonic() - t0
s.close()
open(out, "wb").write(got)

# Split the stream into responses (Content-Length or chunked bodies); the
# answers to HEAD requests have no body whatever their headers say.
import re
methods = re.findall(rb"(?m)^([A-Z]+) [^ \r\n]+ HTTP/1\.[0-9]\r$", data)
lines = []
rest = got
while rest.startswith(b"HTTP/"):
    end = rest.find(b"\r\n\r\n")
    if end < 0:
        break
    head = rest[:end].decode("latin-1").split("\r\n")
    rest = rest[end + 4:]
    parts = head[0].split(" ")
    status = parts[1] if len(parts) > 1 else "000"
    hdrs = {}
    for h in head[1:]:
        k, _, v = h.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    body = b""
    nth = len(lines)
    if status.startswith("1"):
        continue
    if status in ("204", "304") or (nth < len(methods) and
            methods[nth] == b"HEAD"):
        pass
    elif "content-length" in hdrs:
        n = int(hdrs["content-length"])
        body, rest = rest[:n], rest[n:]
    elif hdrs.get("transfer-encoding", "").lower() == "chunked":
        while True:
            e = rest.find(b"\r\n")
            if e < 0:
                break
            n = int(rest[:e].split(b";")[0], 16)
            rest = rest[e + 2:]
            if n == 0:
                e = rest.find(b"\r\n\r\n")
                rest = rest[e + 4:] if e >= 0 else b""
                break
            body += rest[:n]
            rest = rest[n + 2:]
    else:
        body, rest = rest, b""
    lines.append("%s %d %s" % (status, len(body),
        json.dumps(body.decode("latin-1"))))
with open(resp, "w") as f:
    for l in lines:
        f.write(l + "\n")
first = lines[0].split(" ")[0] if lines else "000"
print("%d %.3f %s %d" % (closed, elapsed, first, len(lines)))
PYEOF
	) || fail "raw_http: python3 failed"
	set -- $r
	RAW_CLOSED=$1
	RAW_TIME=$2
	RAW_STATUS=$3
	RAW_NRESP=$4
}

# raw_req 'printf-%b-string' [SECONDS]: raw_http on the bytes of a string
# with backslash escapes (\r\n, \0 ...).
raw_req()
{
	printf '%b' "$1" > "$T/raw.in"
	raw_http "$T/raw.in" "${2:-5}"
}

# The manifest media types a modern client accepts.
ACCEPT_MANIFESTS="application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"

# check_manifest REPO REF FILE TYPE: GET and HEAD of the manifest REF give
# 200 with FILE's exact bytes, Content-Type TYPE, Content-Length and the
# Docker-Content-Digest of FILE.
check_manifest()
{
	local d size

	d=$(sha "$3")
	size=$(stat -c %s "$3")
	http GET "$URL/v2/$1/manifests/$2" -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 200 "GET manifest $1 $2"
	cmp -s "$BODY" "$3" ||
	    fail "GET manifest $1 $2: not the bytes pushed: $(head -c 300 "$BODY")"
	check_eq "$(hdr Content-Type)" "$4" "Content-Type of $1 $2"
	check_eq "$(hdr Docker-Content-Digest)" "$d" \
	    "Docker-Content-Digest of $1 $2"
	http HEAD "$URL/v2/$1/manifests/$2" -H "Accept: $ACCEPT_MANIFESTS"
	check_eq "$STATUS" 200 "HEAD manifest $1 $2"
	check_eq "$(hdr Content-Type)" "$4" "HEAD Content-Type of $1 $2"
	check_eq "$(hdr Content-Length)" "$size" "HEAD Content-Length of $1 $2"
	check_eq "$(hdr Docker-Content-Digest)" "$d" \
	    "HEAD Docker-Content-Digest of $1 $2"
}

# put_manifest_ok REPO REF FILE TYPE: PUT the manifest and check the 201
# answer's Location and Docker-Content-Digest.
put_manifest_ok()
{
	local d loc

	d=$(sha "$3")
	push_manifest "$@"
	check_eq "$(hdr Docker-Content-Digest)" "$d" \
	    "Docker-Content-Digest of PUT $1 $2"
	loc=$(hdr Location)
	[ -n "$loc" ] || fail "PUT manifest $1 $2: no Location"
	loc=$(printf '%s\n' "$loc" | sed -e 's|^https\{0,1\}://[^/]*||')
	check_match "$loc" "^/v2/$1/manifests/($2|$d)\$" \
	    "Location of PUT $1 $2"
}

# dreg_start ROOT [YAML]: serve the storage directory ROOT with Debian's
# docker-registry (CNCF Distribution) on a free port, deletes enabled.
# YAML ends its configuration, after the http section's addr: its tls
# lines (then DREG_URL is https and DREG_CURL has make_certs's CA), an
# auth section.  Sets DREG_PID, DREG_URL and DREG_CURL (curl options);
# the test's exit stops it.
dreg_start()
{
	local port scheme=http

	command -v docker-registry >/dev/null 2>&1 ||
	    fail "docker-registry is not installed (regress/deps.sh)"
	port=$(free_port)
	while [ "$port" = "${PORT:-}" ]; do
		port=$(free_port)
	done
	cat > "$T/dreg.yml" <<EOD
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $1
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
${2:-}
EOD
	DREG_CURL=
	case ${2:-} in
	*tls:*)
		scheme=https
		DREG_CURL="--cacert $T/ca.crt"
		;;
	esac
	# Distribution reads REGISTRY_* variables as configuration
	# (REGISTRY_AUTH_FILE, for skopeo, would be its "auth" section).
	env $(env | awk -F= '/^REGISTRY_/ { printf "-u %s ", $1 }') \
	    docker-registry serve "$T/dreg.yml" >> "$T/dreg.log" 2>&1 &
	DREG_PID=$!
	DREG_URL=$scheme://127.0.0.1:$port
	trap dreg_cleanup EXIT
	local n=100
	# With an auth section it answers 401.
	until curl -s $DREG_CURL -o /dev/null -w '%{http_code}' --max-time 2 \
	    "$DREG_URL/v2/" | grep -Eq '^(200|401)$'; do
		n=$((n - 1))
		if [ $n -le 0 ] || ! alive "$DREG_PID"; then
			tail -n 20 "$T/dreg.log" >&2
			fail "docker-registry did not answer $DREG_URL/v2/"
		fi
		sleep 0.1
	done
}

# dreg_stop: stop the docker-registry of dreg_start.
dreg_stop()
{
	[ -n "${DREG_PID:-}" ] || return 0
	kill -TERM "$DREG_PID" 2>/dev/null
	if ! regd_wait_gone 5 "$DREG_PID"; then
		kill -KILL "$DREG_PID" 2>/dev/null
	fi
	wait "$DREG_PID" 2>/dev/null
	DREG_PID=
}

dreg_cleanup()
{
	local rc=$?

	dreg_stop
	(exit "$rc")
	regd_cleanup
}

# snapshot_registry BASEURL DIR REPO@REF...: record in DIR what a registry
# serves for each manifest, every manifest an index of them names, and
# every blob they name: status, Content-Type, Docker-Content-Digest and
# the bytes (a manifest) or their digest and length (a blob); and each
# repository's tags, sorted.  Two snapshots compare with diff -r.
snapshot_registry()
{
	local base=$1 dir=$2 queue item repo ref n=0 b f seen

	shift 2
	mkdir -p "$dir"
	queue="$*"
	seen=" "
	while [ -n "$queue" ]; do
		set -- $queue
		item=$1
		shift
		queue="$*"
		case $seen in
		*" $item "*)
			continue
			;;
		esac
		seen="$seen$item "
		repo=${item%@*}
		ref=${item##*@}
		n=$((n + 1))
		f=$dir/$(printf '%03d' $n)
		http GET "$base/v2/$repo/manifests/$ref" -H "Accept: $ACCEPT_MANIFESTS"
		cp "$BODY" "$f.manifest"
		printf '%s %s\nstatus %s\ntype %s\ndigest %s\n' "$repo" "$ref" \
		    "$STATUS" "$(hdr Content-Type)" "$(hdr Docker-Content-Digest)" \
		    > "$f.meta"
		[ "$STATUS" = 200 ] || continue
		for b in $(jq -r '.manifests[]?.digest' "$f.manifest"); do
			queue="$queue $repo@$b"
		done
		for b in $(jq -r '.config.digest?, .layers[]?.digest' \
		    "$f.manifest" | grep -v '^null$'); do
			http GET "$base/v2/$repo/blobs/$b"
			printf 'blob %s status %s length %s body %s\n' "$b" \
			    "$STATUS" "$(hdr Content-Length)" "$(sha "$BODY")" \
			    >> "$f.meta"
		done
		if [ ! -f "$dir/tags.${repo//\//_}" ]; then
			http GET "$base/v2/$repo/tags/list"
			printf 'status %s\n' "$STATUS" > "$dir/tags.${repo//\//_}"
			jq -r '.tags[]?' < "$BODY" | LC_ALL=C sort \
			    >> "$dir/tags.${repo//\//_}"
		fi
	done
}

# The digest of the two bytes "{}", the OCI empty descriptor's content.
EMPTY_JSON=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a

# A minimal image config, for manifests whose blobs need not be images.
MIN_CONFIG='{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
