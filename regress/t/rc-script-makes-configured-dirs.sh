#!/bin/bash
# The Debian rc script makes the directories the configuration names and
# regd needs before it starts (the parent of the storage directory, the
# chroot, the directory of the access log), starts regd detached, finds
# and records its parent, and stops the parent and its children.
. regress/lib.sh

[ "$REGD_ROOT" -eq 1 ] || skip "the rc script is root's"
[ -r /lib/lsb/init-functions ] || skip "no /lib/lsb/init-functions"
command -v start-stop-daemon > /dev/null || skip "no start-stop-daemon"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
cat > "$T/regd.conf" <<EOC
storage "$T/var/lib/regd"
chroot "$T/var/empty"
socket "$T/regd.sock"
prefork 2
log access "$T/var/log/regd/access.log"
server "rc" {
	listen on 127.0.0.1 port $PORT
}
EOC
rc()
{
	DAEMON=$PWD/regd/regd DAEMON_ARGS="-f $T/regd.conf" \
	    PIDFILE=$T/regd.pid sh etc/regd.rc "$1" > "$T/rc.out" 2>&1
}

rc start || fail "rc start: $(cat "$T/rc.out")"
[ -s "$T/regd.pid" ] || fail "no pid file: $(cat "$T/rc.out")"
REGD_PID=$(cat "$T/regd.pid")
wait_v2 10 || fail "regd started by the rc script does not answer"
check_eq "$(proc_title "$REGD_PID")" "regd: parent" "recorded process"
check_eq "$(stat -c %a "$T/var/log/regd")" 750 "mode of the log directory"
check_eq "$(stat -c %U "$T/var/lib/regd")" _regd "owner of the storage"
[ -d "$T/var/empty" ] || fail "no chroot directory"
curl -s -o /dev/null "$URL/v2/"
sleep 0.5
grep -q '"GET /v2/ ' "$T/var/log/regd/access.log" ||
    fail "no access line: $(cat "$T/var/log/regd/access.log")"
rc status || fail "rc status: $(cat "$T/rc.out")"

pids=$(procs_of "$REGD_PID" | awk '{ print $1 }')
rc stop || fail "rc stop: $(cat "$T/rc.out")"
regd_wait_gone 5 $pids || fail "regd processes left after rc stop"
REGD_PID=
[ -e "$T/regd.pid" ] && fail "pid file left after stop"
exit 0
