#!/bin/bash
# regctl show status lists every process with the pids /proc shows, their
# uptimes and request counts that grow with requests; regctl reload and
# regctl log verbose|brief work; regctl without a daemon says so clearly.
. regress/lib.sh

regd_start "" "	connection { header timeout 1 }"

# status: print the status, fail unless regctl exits 0.
status()
{
	local out

	out=$($REGCTL show status 2>&1) || fail "show status failed: $out"
	printf '%s\n' "$out"
}

# role_of PID: the ROLE column of PID's line.
role_of()
{
	awk -v p="$1" '$1 == p { print $2 }' "$T/st"
}

# Seconds of a 0d00h00m00s uptime.
secs()
{
	echo "$1" | awk -F'[dhms]' '{ print $1 * 86400 + $2 * 3600 + $3 * 60 + $4 }'
}

total()
{
	awk '/^total:/ { print $2 }' "$T/st"
}

status > "$T/st"
cat "$T/st" >&2
check_eq "$(awk '$1 ~ /^[0-9]+$/' "$T/st" | wc -l)" 5 "process lines"
check_match "$(head -n 1 "$T/st")" "pid $REGD_PID\\b" "pid in the heading"
check_eq "$(role_of "$REGD_PID")" parent "role of the parent"
for kind in frontend storage logger; do
	for p in $(pids_titled "$kind"); do
		check_eq "$(role_of "$p")" "$kind" "role of $kind $p"
	done
done
# Every listed pid is a live process of this regd.
for p in $(awk '$1 ~ /^[0-9]+$/ { print $1 }' "$T/st"); do
	procs_of "$REGD_PID" | awk '{ print $1 }' | grep -qx "$p" ||
	    fail "show status lists $p, which is not a regd process"
done
# Uptimes have the documented shape.
for u in $(awk '$1 ~ /^[0-9]+$/ { print $3 }' "$T/st"); do
	check_match "$u" '^[0-9]+d[0-9]{2}h[0-9]{2}m[0-9]{2}s$' "uptime format"
done
up0=$(secs "$(awk -v p="$REGD_PID" '$1 == p { print $3 }' "$T/st")")
req0=$(total)
check_match "$req0" '^[0-9]+$' "total requests"

for i in $(seq 1 25); do
	curl -s -o /dev/null "$URL/v2/" || fail "GET /v2/"
done
sleep 2
# Counts may lag a moment behind: give them a second.
for i in $(seq 1 10); do
	status > "$T/st"
	[ "$(total)" -ge $((req0 + 25)) ] && break
	sleep 0.1
done
cat "$T/st" >&2
req1=$(total)
[ "$req1" -ge $((req0 + 25)) ] ||
    fail "total requests went from $req0 to $req1 after 25 requests"
sum=$(awk '$2 == "frontend" { n += $5 } END { print n }' "$T/st")
check_eq "$sum" "$req1" "sum of the frontends' requests"
up1=$(secs "$(awk -v p="$REGD_PID" '$1 == p { print $3 }' "$T/st")")
[ "$up1" -ge $((up0 + 2)) ] || fail "uptime went from $up0 to $up1 s in 2 s"

# A respawned frontend shows up with its new pid.
victim=$(pids_titled frontend | head -n 1)
kill -KILL "$victim"
for i in $(seq 1 30); do
	[ "$(pids_titled frontend | wc -l)" -eq 2 ] &&
	    ! pids_titled frontend | grep -qx "$victim" && break
	sleep 0.1
done
status > "$T/st"
[ -z "$(role_of "$victim")" ] || fail "the killed frontend is still listed"
for p in $(pids_titled frontend); do
	check_eq "$(role_of "$p")" frontend "role of frontend $p after respawn"
done

# reload, good and bad.
out=$($REGCTL reload 2>&1)
check_eq "$?" 0 "regctl reload"
note "reload: $out"
echo 'listen nowhere' >> "$T/regd.conf"
line=$(wc -l < "$T/regd.conf")
out=$($REGCTL reload 2>&1)
rc=$?
note "bad reload ($rc): $out"
[ "$rc" -ne 0 ] || fail "regctl reload of a broken file exited 0"
echo "$out" | grep -q "regd.conf:$line:" ||
    fail "regctl reload does not show regd.conf:$line:"
http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ after a refused reload"

# log verbose and brief, seen through the frontends' debug message for a
# client that times out in its headers.
stall()
{
	local n

	exec 5<>"/dev/tcp/127.0.0.1/$PORT" || fail "connect"
	printf 'GET /v2/ HTTP/1.1\r\nHo' >&5
	sleep 1.8
	exec 5>&-
	n=$(grep -c 'header timeout' "$T/regd.log")
	echo "$n"
}
check_eq "$(stall)" 0 "debug lines before regctl log verbose"
out=$($REGCTL log verbose 2>&1)
check_eq "$?" 0 "regctl log verbose"
note "log verbose: $out"
check_eq "$(stall)" 1 "debug lines after regctl log verbose"
out=$($REGCTL log brief 2>&1)
check_eq "$?" 0 "regctl log brief"
note "log brief: $out"
check_eq "$(stall)" 1 "debug lines after regctl log brief"

# Bad usage and a missing socket.
out=$($REGCTL show nonsense 2>&1)
[ "$?" -ne 0 ] || fail "regctl show nonsense exited 0"
out=$($REGCTL_BIN -s "$T/missing.sock" show status 2>&1)
rc=$?
note "missing socket ($rc): $out"
[ "$rc" -ne 0 ] || fail "regctl on a missing socket exited 0"
echo "$out" | grep -qF "$T/missing.sock" ||
    fail "the error does not name the socket: $out"
echo "$out" | grep -qi 'not running\|no such file\|connect' ||
    fail "the error does not say what went wrong: $out"
alive "$REGD_PID" || fail "regd died"
exit 0
