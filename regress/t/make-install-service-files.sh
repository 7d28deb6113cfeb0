#!/bin/bash
#
# "make install DESTDIR=..." installs the programs, the manual pages, the
# systemd unit, the rc script and the example configuration, pointing the
# unit and the script at the installed regd; an existing regd.conf is
# left alone.  The unit creates /var/log/regd (LogsDirectory=) and waits
# for regd's READY=1 (Type=notify); the rc script makes the directories
# the configuration names (rc-script-makes-configured-dirs).

. ./regress/lib.sh

D=$T/dest
make -s install DESTDIR="$D" PREFIX=/usr > "$T/out" 2>&1 ||
    fail "make install: $(cat "$T/out")"
for f in /usr/sbin/regd /usr/sbin/regctl /usr/share/man/man8/regd.8 \
    /usr/share/man/man5/regd.conf.5 /lib/systemd/system/regd.service \
    /etc/init.d/regd /etc/regd.conf; do
	[ -f "$D$f" ] || fail "$f not installed: $(find "$D" -type f)"
done
[ -x "$D/etc/init.d/regd" ] || fail "rc script not executable"
grep -q "^ExecStart=/usr/sbin/regd -d$" "$D/lib/systemd/system/regd.service" ||
    fail "unit does not run /usr/sbin/regd: $(grep Exec "$D/lib/systemd/system/regd.service")"
grep -q "/usr/local/sbin" "$D/lib/systemd/system/regd.service" "$D/etc/init.d/regd" &&
    fail "installed files still name /usr/local/sbin"
grep -q "^LogsDirectory=regd" "$D/lib/systemd/system/regd.service" ||
    fail "unit does not make /var/log/regd"
grep -q "^Type=notify$" "$D/lib/systemd/system/regd.service" ||
    fail "unit is not Type=notify"
grep -q "^[[:space:]]*make_dirs$" "$D/etc/init.d/regd" ||
    fail "rc script does not make the configured directories"
cmp -s etc/regd.conf "$D/etc/regd.conf" || fail "regd.conf differs"
if command -v systemd-analyze > /dev/null 2>&1; then
	systemd-analyze verify "$D/lib/systemd/system/regd.service" \
	    > "$T/verify" 2>&1
	grep -i "unknown\|invalid" "$T/verify" | grep -v "/usr/sbin/regd" &&
	    fail "systemd-analyze: $(cat "$T/verify")"
fi

echo "# mine" > "$D/etc/regd.conf"
make -s install DESTDIR="$D" PREFIX=/usr > "$T/out" 2>&1 ||
    fail "second make install: $(cat "$T/out")"
check_eq "$(cat "$D/etc/regd.conf")" "# mine" "an existing regd.conf"
grep -q "exists, left alone" "$T/out" || fail "no word about regd.conf: $(cat "$T/out")"

# The example configuration passes regd -n once its log directory exists.
sed -e "s|/var/log/regd|$T/log|; s|/var/lib/regd|$T/storage|; s|/var/run/regd.sock|$T/regd.sock|" \
    etc/regd.conf > "$T/ex.conf"
mkdir -p "$T/storage"
[ "$REGD_ROOT" -eq 1 ] && chown _regd "$T/storage"
out=$("$REGD" -n -f "$T/ex.conf" 2>&1)
check_match "$out" "access log .*directory $T/log: No such file" \
    "regd -n without the log directory"
mkdir -p "$T/log"
"$REGD" -n -f "$T/ex.conf" > /dev/null 2>&1 ||
    fail "regd -n of the example: $("$REGD" -n -f "$T/ex.conf" 2>&1)"
exit 0
