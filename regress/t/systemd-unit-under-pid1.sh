#!/bin/bash
# Under a real systemd, etc/regd.service (Type=notify, the hardening, the
# bounding set) starts regd: "systemctl start" returns once regd said
# READY=1, the unit is active with regd's STATUS=, a reload goes through
# RELOADING=1 and READY=1, and stop leaves no process.  The unit runs the
# regd of this tree on a configuration in a directory of its own.
. regress/lib.sh

[ -d /run/systemd/system ] || skip "systemd is not PID 1 here"
[ "$REGD_ROOT" -eq 1 ] || skip "needs root to install a unit"
command -v systemctl > /dev/null || skip "no systemctl"

UNIT=regd-test-$$.service
# Not under /tmp: the unit has a private /tmp.
D=/var/lib/regd-test-$$
trap 'st=$?; systemctl stop "$UNIT" > /dev/null 2>&1;
    rm -f "/run/systemd/system/$UNIT"; systemctl daemon-reload;
    rm -rf "$D"; (exit $st); regd_cleanup' EXIT
mkdir -p "$D/storage" "$D/log"
chown _regd "$D/storage"
cp regd/regd "$D/regd"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
cat > "$D/regd.conf" <<EOC
storage "$D/storage"
socket "$D/regd.sock"
prefork 2
log access "$D/log/access.log"
server "unit" {
	listen on 127.0.0.1 port $PORT
}
EOC
sed -e "s|/usr/local/sbin/regd -n|$D/regd -n -f $D/regd.conf|" \
    -e "s|/usr/local/sbin/regd -d|$D/regd -d -f $D/regd.conf|" \
    -e "s|^ReadWritePaths=.*|ReadWritePaths=$D /run|" \
    -e "/^LogsDirectory/d" \
    -e "s|/var/lib/regd /var/log/regd|$D/storage $D/log|" \
    -e '/^\[Install\]/,$d' etc/regd.service > "/run/systemd/system/$UNIT"
systemctl daemon-reload
timeout 30 systemctl start "$UNIT" ||
    fail "systemctl start: $(journalctl -u "$UNIT" -n 30 --no-pager)"
check_eq "$(systemctl show -P ActiveState "$UNIT")" active "ActiveState"
check_match "$(systemctl show -P StatusText "$UNIT")" "^serving 2 frontends$" \
    "StatusText"
http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ from the unit"
sh etc/mkimage.sh "$D/image" > /dev/null 2>&1 || fail "mkimage"
if command -v skopeo > /dev/null; then
	skopeo copy -q --dest-tls-verify=false "oci:$D/image:latest" \
	    "docker://127.0.0.1:$PORT/library/image:latest" ||
	    fail "push under systemd: $(journalctl -u "$UNIT" -n 30 --no-pager)"
fi
timeout 30 systemctl reload "$UNIT" || fail "systemctl reload"
check_eq "$(systemctl show -P ActiveState "$UNIT")" active "after reload"
main=$(systemctl show -P MainPID "$UNIT")
pids=$(procs_of "$main" | awk '{ print $1 }')
timeout 30 systemctl stop "$UNIT" || fail "systemctl stop"
regd_wait_gone 5 $pids || fail "regd processes left after stop"
journalctl -u "$UNIT" --no-pager | grep -q 'shutting down' ||
    note "journal without the shutdown line"
exit 0
