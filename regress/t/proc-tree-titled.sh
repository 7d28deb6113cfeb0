#!/bin/bash
# One parent with prefork 2 runs two frontends, one storage and one logger,
# each with its title (read from /proc/PID/cmdline).
. regress/lib.sh

regd_start
procs_of "$REGD_PID" >&2

check_match "$(proc_title "$REGD_PID")" '^regd: parent' "title of the parent"
check_eq "$(pids_titled frontend | wc -l)" 2 "frontends"
check_eq "$(pids_titled storage | wc -l)" 1 "storage processes"
check_eq "$(pids_titled logger | wc -l)" 1 "logger processes"
check_eq "$(procs_of "$REGD_PID" | wc -l)" 5 "processes in the tree"

# Every child is the parent's own child, with a title of its own.
for p in $(procs_of "$REGD_PID" | awk '{ print $1 }'); do
	[ "$p" = "$REGD_PID" ] && continue
	check_eq "$(proc_ppid "$p")" "$REGD_PID" "parent of $p"
	check_match "$(proc_title "$p")" \
	    '^regd: (frontend|storage|logger)' "title of $p"
done
exit 0
