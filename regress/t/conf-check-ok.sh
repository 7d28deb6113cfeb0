#!/bin/bash
# regd -n -f FILE checks a good configuration: "configuration OK", exit 0,
# and nothing started.
. regress/lib.sh

regd_conf "user \"_regd\"
chroot \"$T/empty\"
log verbose" "	connection {
		header timeout 5
		idle timeout 30
	}
	max manifest size 8M
	max headers 50"
cat >> "$T/regd.conf" <<EOC

# a second server, with a macro
p2 = "$((PORT + 1))"
server "second" {
	listen on 127.0.0.1 port \$p2
	delete no
}
EOC

out=$("$REGD" -n -f "$T/regd.conf" 2>&1)
rc=$?
echo "$out" >&2
check_eq "$rc" 0 "exit status of regd -n"
echo "$out" | grep -qx 'configuration OK' || fail "no 'configuration OK'"
[ ! -e "$T/regd.sock" ] || fail "regd -n created the control socket"
if ss -Htln "sport = :$PORT" | grep -q .; then
	fail "regd -n left something listening on $PORT"
fi

# The minimal file of the harness is good too.
regd_conf
out=$("$REGD" -n -f "$T/regd.conf" 2>&1)
check_eq "$?" 0 "exit status of regd -n on the harness config"
check_eq "$out" "configuration OK" "output of regd -n"
exit 0
