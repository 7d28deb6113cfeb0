#!/bin/bash
# Descriptors regd inherits are not passed on to its children, however
# many and whatever their number: regd starts with 1100 descriptors open
# on a file, among them 1023, 1024 and 1500, and none of its children
# (frontends, storage, logger, and frontends started by a reload) has
# that file open.  (Before, a child closed only the first 1024
# descriptors it found in /proc/self/fd and kept the others.)
. regress/lib.sh

ulimit -n 4096 2>/dev/null || skip "cannot raise the descriptor limit"
regd_conf
: > "$T/secret"
exec 1023<"$T/secret" 1024<"$T/secret" 1500<"$T/secret"
fds=
for i in $(seq 1 1097); do
	exec {fd}<"$T/secret"
	fds="$fds $fd"
done
regd_launch
exec 1023<&- 1024<&- 1500<&-
for fd in $fds; do
	exec {fd}<&-
done

# leaks: "pid title fd" for every child holding $T/secret.
leaks()
{
	local p n

	for p in $(pids_titled frontend) $(pids_titled storage) \
	    $(pids_titled logger); do
		n=$(find /proc/"$p"/fd -lname "$T/secret" | wc -l)
		[ "$n" -eq 0 ] || echo "$p ($(proc_title "$p")): $n"
	done
	return 0
}

check()
{
	local n l

	n=$( (pids_titled frontend; pids_titled storage;
	    pids_titled logger) | wc -l)
	[ "$n" -ge 4 ] || fail "only $n children"
	l=$(leaks)
	[ -z "$l" ] || fail "$1: children hold inherited descriptors: $l"
	note "$1: $n children, no inherited descriptor"
}

[ "$(readlink /proc/"$REGD_PID"/fd/1500)" = "$T/secret" ] ||
    note "the parent itself did not keep 1500 (fine)"
check "at start"
$REGCTL reload > /dev/null || fail "reload failed"
sleep 0.5
check "after a reload"
exit 0
