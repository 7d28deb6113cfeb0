#!/bin/bash
# A bad line inside a retention or notify block is a "file:line:" error,
# not a double free: the block's name was freed by its mid-rule action and
# again by the parser's error recovery, so regd -n aborted and a reload
# of such a file killed the parent.
. regress/lib.sh

for blk in 'retention "a" {
	keep last 3
	frobnicate
}' 'notify "a" {
	url "http://127.0.0.1:1/"
	frobnicate
}'; do
	printf 'storage "%s"\n%s\n' "$T/s" "$blk" > "$T/bad.conf"
	out=$("$REGD" -n -f "$T/bad.conf" 2>&1)
	rc=$?
	note "$out"
	check_eq "$rc" 1 "exit status of regd -n"
	echo "$out" | grep -qF "$T/bad.conf:4:" || fail "no line 4 in: $out"
done

# The same file given to a running regd: refused, regd goes on.
regd_start
printf 'retention "a" {\n\tkeep last 3\n\tfrobnicate\n}\n' >> "$T/regd.conf"
out=$($REGCTL reload 2>&1)
[ "$?" -ne 0 ] || fail "reload of a bad file succeeded: $out"
sleep 0.3
alive "$REGD_PID" || fail "regd died on the reload"
http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ after the refused reload"
exit 0
