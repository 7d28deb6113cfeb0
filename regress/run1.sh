#!/bin/sh
#
# regress/run1.sh NAME PATH SECONDS: run one test for regress/run.sh (a
# unit program or a regress/t/*.sh), kill it after SECONDS, leave its exit status in $OUT/NAME.rc and
# print its PASS, SKIP or FAIL block, under a lock so that blocks of
# tests running at once do not mix.

name=$1
path=$2
LIMIT=$3
log=$OUT/$name.log
res=$OUT/$name.res

now()
{
	date +%s.%N
}

t0=$(now)
case $path in
*.sh)
	timeout -k 10 "$LIMIT" bash "$path" > "$log" 2>&1 < /dev/null
	rc=$?
	;;
*)
	if [ -x "$path" ]; then
		timeout -k 10 "$LIMIT" "./$path" > "$log" 2>&1 < /dev/null
		rc=$?
	else
		echo "$path is not built (make units)" > "$log"
		rc=1
	fi
	;;
esac
t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }')

{
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name ($t)"
	elif [ "$rc" -eq 77 ]; then
		echo "SKIP $name ($(grep -m1 '^SKIP:' "$log" | cut -c7-))"
	else
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "FAIL $name ($t, killed after ${LIMIT}s)"
		else
			echo "FAIL $name ($t, exit $rc)"
		fi
		if [ "$(wc -l < "$log")" -gt 150 ]; then
			echo "    ... (full output in $log)"
			tail -n 150 "$log" | sed -e 's/^/    /'
		else
			sed -e 's/^/    /' "$log"
		fi
	fi
} > "$res"
echo "$rc" > "$OUT/$name.rc"
flock "$OUT/.lock" cat "$res"
rm -f "$res"
exit 0
