#!/bin/bash
# Run by an unprivileged user, regd keeps its processes and seccomp
# filters, skips chroot and setuid, serves /v2/, and says so once.
. regress/lib.sh

if [ "$REGD_ROOT" -eq 1 ]; then
	user=nobody
	group=$(id -gn nobody)
	uid=$(id -u nobody)
	# The binary and everything regd touches must be reachable by nobody.
	cp "$REGD" "$T/regd"
	REGD=$T/regd
	REGD_WRAP="setpriv --reuid=$user --regid=$group --clear-groups"
	regd_conf
	chown -R "$user:$group" "$T"
else
	uid=$(id -u)
	regd_conf
fi
regd_launch

procs_of "$REGD_PID" >&2
check_eq "$(procs_of "$REGD_PID" | wc -l)" 5 "processes"
for p in $(procs_of "$REGD_PID" | awk '{ print $1 }'); do
	check_eq "$(awk '/^Uid:/ { print $2 }' "/proc/$p/status")" "$uid" \
	    "uid of $p"
	if [ "$p" != "$REGD_PID" ]; then
		check_eq "$(awk '/^Seccomp:/ { print $2 }' "/proc/$p/status")" \
		    2 "seccomp mode of $p ($(proc_title "$p"))"
	fi
	if [ "$REGD_ROOT" -eq 1 ]; then
		check_eq "$(readlink "/proc/$p/root")" / "root of $p"
	fi
done

http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/"
check_eq "$(cat "$BODY")" "{}" "body of /v2/"
push_blob unpriv/test "$REGD"
[ -n "$(find "$T/storage" -name data -size +0)" ] ||
    fail "the blob is not in the storage directory"

n=$(grep -ciE 'chroot|privilege|unprivileged|not root' "$T/regd.log")
grep -iE 'chroot|privilege|unprivileged|not root' "$T/regd.log" >&2
check_eq "$n" 1 "log lines about running unprivileged"
regd_stop
exit 0
