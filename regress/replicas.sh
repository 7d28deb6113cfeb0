# regress/replicas.sh: two regd instances on one shared store, for the
# regress/t/replicas-*.sh tests; source after regress/lib.sh.
#
# replica_start I: start instance I (1 or 2) in $T/rI with its own port
#   (RPORT[I], RURL[I]), control socket, access log and regd.log; both
#   share the store that replica_storage writes into their configs.
# replicas_balance: nginx on $NPORT (BURL) in front of both, round
#   robin, no stickiness.
# replica_kill I: kill -9 every process of instance I.
#
# REGD_BACKEND=fs (the default): one directory, $T/storage, "storage
# shared yes" (an NFS mount behaves the same).  REGD_BACKEND=s3 calls
# replica_storage_s3, which a later S3 harness defines (the storage
# lines of a bucket both instances use); without it the test is skipped.

declare -a RPID RPORT RURL

replica_storage()
{
	case ${REGD_BACKEND:-fs} in
	fs)
		printf 'storage "%s"\nstorage shared yes\n' "$T/storage"
		;;
	s3)
		declare -F replica_storage_s3 >/dev/null ||
		    skip "REGD_BACKEND=s3: no replica_storage_s3 defined"
		replica_storage_s3
		;;
	*)
		fail "REGD_BACKEND=$REGD_BACKEND: fs or s3"
		;;
	esac
}

# replica_start I [extra-global-lines]
replica_start()
{
	local i=$1 d=$T/r$1 n=100

	mkdir -p "$d" "$T/storage"
	[ "$REGD_ROOT" -eq 1 ] && chown -R _regd "$T/storage"
	RPORT[$i]=$(free_port)
	RURL[$i]=http://127.0.0.1:${RPORT[$i]}
	{
		replica_storage
		printf 'socket "%s"\nprefork 2\nlog access "%s"\n%s\n' \
		    "$d/regd.sock" "$d/access.log" "${2:-}"
		printf 'server "r%s" {\n\tlisten on 127.0.0.1 port %s\n' \
		    "$i" "${RPORT[$i]}"
		printf '\tdelete yes\n}\n'
	} > "$d/regd.conf"
	"$REGD" -d -f "$d/regd.conf" >> "$d/regd.log" 2>&1 &
	RPID[$i]=$!
	until curl -sf -o /dev/null --max-time 2 "${RURL[$i]}/v2/"; do
		alive "${RPID[$i]}" || fail "instance $i exited: $(cat "$d/regd.log")"
		n=$((n - 1))
		[ $n -gt 0 ] || fail "instance $i does not answer"
		sleep 0.1
	done
}

# replica_kill I: SIGKILL to the instance's whole process tree.
replica_kill()
{
	local p pids

	[ -n "${RPID[$1]:-}" ] || return 0
	pids=$(procs_of "${RPID[$1]}" | awk '{ print $1 }')
	for p in $pids; do
		kill -KILL "$p" 2>/dev/null
	done
	wait "${RPID[$1]}" 2>/dev/null
	RPID[$1]=
}

replica_stop()
{
	local pids

	[ -n "${RPID[$1]:-}" ] || return 0
	pids=$(procs_of "${RPID[$1]}" | awk '{ print $1 }')
	kill -TERM "${RPID[$1]}" 2>/dev/null
	regd_wait_gone 5 $pids || replica_kill "$1"
	wait "${RPID[$1]}" 2>/dev/null
	RPID[$1]=
}

replicas_cleanup()
{
	local rc=$? i

	for i in 1 2; do
		replica_stop "$i"
	done
	[ -f "$T/nginx/nginx.pid" ] &&
	    kill "$(cat "$T/nginx/nginx.pid")" 2>/dev/null
	# Sanitizer reports of either instance fail the test.
	for i in 1 2; do
		[ "$rc" -ne 77 ] && [ -f "$T/r$i/regd.log" ] &&
		    grep -Eq 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error:' \
		    "$T/r$i/regd.log" && {
			echo "FAIL: sanitizer report in instance $i's regd.log" >&2
			[ "$rc" -eq 0 ] && rc=1
		}
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for i in 1 2; do
			[ -f "$T/r$i/regd.log" ] || continue
			echo "--- last lines of instance $i's regd.log" >&2
			tail -n 30 "$T/r$i/regd.log" >&2
		done
	fi
	(exit "$rc")
	regd_cleanup
}

replicas_balance()
{
	NPORT=$(free_port)
	BURL=http://127.0.0.1:$NPORT
	nginx_start "	upstream regd {
		server 127.0.0.1:${RPORT[1]};
		server 127.0.0.1:${RPORT[2]};
	}
	server {
		listen 127.0.0.1:$NPORT;
		client_max_body_size 0;
		location /v2/ {
			proxy_pass http://regd;
			proxy_http_version 1.1;
			proxy_set_header Host \$http_host;
			proxy_request_buffering off;
			proxy_buffering off;
			proxy_read_timeout 300;
			proxy_next_upstream error timeout;
		}
	}"
	trap replicas_cleanup EXIT
}

# replicas_logged I PATTERN: how many lines of instance I's access log
# match PATTERN (grep -E).
replicas_logged()
{
	grep -cE "$2" "$T/r$1/access.log" 2>/dev/null || true
}

trap replicas_cleanup EXIT
