#!/bin/bash
# regress: long 50
# "make deb" builds a lintian-clean package (make deb runs lintian when it
# is installed) whose control data is right (conffiles, dependencies,
# maintainer scripts that create _regd, remove data only on purge and
# hook the unit and the rc script in), and whose regd, extracted with
# dpkg-deb -x, runs the packaged regd.conf moved to temporary paths.
# Nothing is installed on this machine.  Slow: about a minute.
. regress/lib.sh

for c in dpkg-buildpackage dh dpkg-deb lintian; do
	command -v "$c" > /dev/null || skip "no $c (regress/deps.sh)"
done

start=$(date +%s)
make -s deb DEBDIR="$T/deb" > "$T/build.log" 2>&1 ||
    fail "make deb: $(grep -v '^cc ' "$T/build.log" | tail -n 30)"
note "make deb took $(( $(date +%s) - start )) s"
deb=$(ls "$T"/deb/regd_*_*.deb)
[ -f "$deb" ] || fail "no .deb in $T/deb: $(ls "$T/deb")"
grep -q '^[EW]: ' "$T/build.log" && fail "lintian: $(grep '^[EW]: ' "$T/build.log")"
note "$(basename "$deb"): $(stat -c %s "$deb") bytes"

# Control data.
dpkg-deb -I "$deb" > "$T/info"
dpkg-deb -e "$deb" "$T/ctrl"
check_eq "$(sort "$T/ctrl/conffiles" | tr '\n' ' ')" \
    "/etc/init.d/regd /etc/logrotate.d/regd /etc/regd.conf " "conffiles"
dep=$(dpkg-deb -f "$deb" Depends)
for d in adduser libevent-2.1-7 libevent-openssl-2.1-7 libssl3 \
    libjansson4 libseccomp2 libbsd0 libcrypt1; do
	check_match "$dep" "(^|, )$d( |,|$)" "Depends"
done
tr -d '\\\n' < "$T/ctrl/postinst" | grep -q 'adduser --system[^;]*_regd' ||
    fail "postinst does not create _regd"
grep -q 'deb-systemd-helper' "$T/ctrl/postinst" ||
    fail "postinst does not enable the unit"
grep -q 'update-rc.d regd' "$T/ctrl/postinst" ||
    fail "postinst does not register the rc script"
# The removal of data sits in the purge case, and only there.
awk '/^purge\)/ { p = 1; next } /;;/ { p = 0 }
    /rm -rf/ { if (!p) bad = 1; else ok = 1 }
    END { exit !(ok && !bad) }' "$T/ctrl/postrm" ||
    fail "postrm removes data outside purge: $(cat "$T/ctrl/postrm")"
grep -q '/var/lib/regd /var/log/regd' "$T/ctrl/postrm" ||
    fail "postrm does not purge /var/lib/regd and /var/log/regd"

# Files.
R=$T/root
dpkg-deb -x "$deb" "$R"
for f in usr/sbin/regd usr/sbin/regctl etc/regd.conf etc/init.d/regd \
    etc/logrotate.d/regd lib/systemd/system/regd.service \
    usr/share/man/man8/regd.8.gz usr/share/man/man5/regd.conf.5.gz \
    usr/share/man/man8/regctl.8.gz usr/share/doc/regd/copyright; do
	[ -e "$R/$f" ] || fail "$f not in the package"
done
grep -q '^ExecStart=/usr/sbin/regd -d$' "$R/lib/systemd/system/regd.service" ||
    fail "unit: $(grep ExecStart "$R/lib/systemd/system/regd.service")"
grep -q '^DAEMON=${DAEMON:-/usr/sbin/regd}$' "$R/etc/init.d/regd" ||
    fail "rc script: $(grep ^DAEMON= "$R/etc/init.d/regd")"
if command -v logrotate > /dev/null; then
	sed -e "s|/var/log/regd|$T/logs|" "$R/etc/logrotate.d/regd" > "$T/lr"
	logrotate -d -s "$T/lr.state" "$T/lr" > "$T/lr.out" 2>&1 ||
	    fail "logrotate -d: $(cat "$T/lr.out")"
fi

# The packaged regd on the packaged configuration, moved to $T.
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
mkdir -p "$T/storage" "$T/logs"
[ "$REGD_ROOT" -eq 1 ] && chown _regd "$T/storage"
sed -e "s|/var/log/regd|$T/logs|; s|/var/lib/regd|$T/storage|" \
    -e "s|/var/run/regd.sock|$T/regd.sock|; s|^local_port = 5000$|local_port = $PORT|" \
    "$R/etc/regd.conf" > "$T/regd.conf"
[ "$REGD_ROOT" -eq 1 ] || sed -i -e '/^user /d' "$T/regd.conf"
REGD=$R/usr/sbin/regd
"$REGD" -n -f "$T/regd.conf" > "$T/n.out" 2>&1 ||
    fail "packaged regd -n: $(cat "$T/n.out")"
regd_launch
http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ from the packaged regd"
regd_stop
exit 0
