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
	tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | sed -e 's/ *$//'
}

proc_ppid()
{
	sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2
}

# procs_of PID: "pid title" for PID and every descendant, one a line.
procs_of()
{
	local root=$1 p pp list queue cur

	alive "$root" || return 0
	list=$(for p in /proc/[0-9]*; do
		p=${p#/proc/}
		pp=$(proc_ppid "$p")
		[ -n "$pp" ] && echo "$p $pp"
	done)
	queue=$root
	while [ -n "$queue" ]; do
		set -- $queue
		cur=$1
		shift
		queue="$*"
		if alive "$cur"; then
			echo "$cur $(proc_title "$cur")"
		fi
		for p in $(echo "$list" | awk -v pp="$cur" '$2 == pp { print $1 }')
		do
			queue="$queue $p"
		done
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
regd_conf()
{
	[ -n "${PORT:-}" ] || PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
	mkdir -p "$T/storage"
	if [ "$REGD_ROOT" -eq 1 ]; then
		chown -R _regd "$T/storage" || fail "chown _regd $T/storage"
	fi
	cat > "$T/regd.conf" <<EOF
storage "$T/storage"
socket "$T/regd.sock"
prefork 2
log access "$T/access.log"
${1:-}

server "regress" {
	listen on 127.0.0.1 port $PORT
	delete yes
${2:-}
}
EOF
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
regd_launch()
{
	REGCTL="$REGCTL_BIN -s $T/regd.sock"
	[ -n "$URL" ] || URL=http://127.0.0.1:$PORT
	"$REGD" -d -f "$T/regd.conf" "$@" >> "$T/regd.log" 2>&1 &
	REGD_PID=$!
	if ! wait_v2 10; then
		echo "--- $T/regd.conf" >&2
		cat "$T/regd.conf" >&2
		echo "--- $T/regd.log" >&2
		cat "$T/regd.log" >&2
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
	if ! asan_check; then
		[ "$rc" -eq 0 ] && rc=1
	fi
	if [ "$rc" -ne 0 ] && [ -f "$T/regd.log" ]; then
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
trap 'exit 1' INT TERM HUP

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
