#!/bin/bash
# Every duration of regd.conf takes plain seconds or a number with s, m,
# h, d or w: connection timeouts, login block, drain timeout and the gc
# settings alike.  regd -nv prints what it understood; a bad unit or a
# value out of range is an error at its line.
. regress/lib.sh

conf()
{
	cat > "$T/d.conf" <<EOF2
storage "$T/s"
drain timeout $1
gc grace $2
server "s" {
	listen on 127.0.0.1 port 5000
	connection { header timeout $3, idle timeout $4, body timeout $5 }
}
EOF2
}

conf 2m 1d 90s 1h 45
out=$("$REGD" -nv -f "$T/d.conf" 2>&1) || fail "rejected: $out"
for want in "drain timeout 2m" "gc grace 1d" "header timeout 90" \
    "idle timeout 3600" "body timeout 45"; do
	echo "$out" | grep -qF "$want" || fail "no '$want' in: $out"
done

# bad LINE DRAIN GRACE HEADER IDLE BODY
bad()
{
	local line=$1 out

	shift
	conf "$@"
	out=$("$REGD" -n -f "$T/d.conf" 2>&1) && fail "accepted: $*"
	echo "$out" | grep -qF "$T/d.conf:$line:" ||
	    fail "no '$T/d.conf:$line:' for $*: $out"
	note "$*: $(echo "$out" | head -1)"
}
bad 2 5x 1d 1 1 1
bad 6 1m 1d 10q 1 1
bad 6 1m 1d 1 2d 1
bad 6 1m 1d 1 1 0s
bad 2 0 1d 1 1 1
exit 0
