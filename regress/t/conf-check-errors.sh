#!/bin/bash
# regd -n -f FILE on a bad file prints "FILE:LINE: message" for the line
# at fault and exits 1.
. regress/lib.sh

# bad LINE CONTENT [TEXT]: CONTENT is a whole file whose error is on LINE.
bad()
{
	conf_bad "$@"
}

srv='server "s" {
	listen on 127.0.0.1 port 5000
}'

bad 3 "storage \"$T/s\"
prefork 2
frobnicate yes
$srv"
bad 1 "prefork 0
$srv"
bad 2 "storage \"$T/s\"
prefork 65
$srv"
bad 4 "server \"s\" {
	listen on 127.0.0.1 port 5000
	delete yes
	listen on 127.0.0.1 port 70000
}"
bad 3 "server \"s\" {
	listen on 127.0.0.1 port 5000
	delete maybe
}"
bad 3 "server \"s\" {
	listen on 127.0.0.1 port 5000
	connection { header timeout 0 }
}"
bad 3 "server \"s\" {
	listen on 127.0.0.1 port 5000
	mount without from always
}"
bad 3 "server \"s\" {
	listen on 127.0.0.1 port 5000
	mount from yes
}"
bad 2 "prefork 2
storage \"$T/unterminated
$srv"
bad 1 "prefork \$undefined
$srv"

# "storage shared" takes yes or no, nothing else.
bad 2 "storage \"$T/s\"
storage shared maybe
$srv"
bad 2 "storage \"$T/s\"
storage shared
$srv"
bad 2 "storage \"$T/s\"
storage shared 1
$srv"
printf '%s\n' "storage \"$T/s\"" "storage shared yes" "$srv" > "$T/shared.conf"
out=$("$REGD" -nv -f "$T/shared.conf" 2>&1) ||
    fail "regd -nv with storage shared yes: $out"
echo "$out" | grep -qx 'storage shared yes' ||
    fail "storage shared yes not in the dump: $out"

# Several errors are all reported, each with its line.
printf '%s\n' "prefork 0" "bogus" "$srv" "prefork 1000" > "$T/multi.conf"
out=$("$REGD" -n -f "$T/multi.conf" 2>&1)
check_eq "$?" 1 "exit status with several errors"
for l in 1 2 6; do
	echo "$out" | grep -qF "$T/multi.conf:$l:" ||
	    fail "error on line $l not reported: $out"
done

# An access log whose directory is missing (regd would not start).
bad 3 "storage \"$T/s\"
socket \"$T/regd.sock\"
log access \"$T/no/such/dir/access.log\"
$srv"
mkdir -p "$T/logs"
printf '%s\n' "storage \"$T/s\"" "socket \"$T/regd.sock\"" \
    "log access \"$T/logs/access.log\"" "$srv" > "$T/log.conf"
"$REGD" -n -f "$T/log.conf" > /dev/null 2>&1 ||
    fail "regd -n with an existing log directory: $("$REGD" -n -f "$T/log.conf" 2>&1)"

# A file that does not exist.
out=$("$REGD" -n -f "$T/nonexistent.conf" 2>&1)
check_eq "$?" 1 "exit status for a missing file"
echo "$out" | grep -qF "$T/nonexistent.conf" ||
    fail "the error does not name the missing file: $out"
exit 0
