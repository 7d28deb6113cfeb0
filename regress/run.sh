#!/bin/sh
#
# regress/run.sh [glob...]: run the unit programs named in the Makefile's
# UNIT_PROGS and every regress/t/*.sh, or only those whose name matches one
# of the globs (names are "test_msg", "http-v2-base", ...).  Prints one
# PASS/FAIL line per test, the output of failed tests indented, and last
# "N passed, N failed".  Exits 1 if anything failed.  A test that exits
# 77 could not run here (say, it needs root): it is listed as SKIP and
# counted in neither number.

cd "$(dirname "$0")/.." || exit 1

LIMIT=${REGRESS_TIMEOUT:-300}
OUT=regress/out
mkdir -p "$OUT"

pass=0
failed=0
skipped=0
ran=0
failures=

selected()
{
	[ $# -gt 1 ] || return 0
	name=$1
	shift
	for g in "$@"; do
		case $name in
		$g)
			return 0
			;;
		esac
	done
	return 1
}

now()
{
	date +%s.%N
}

elapsed()
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }'
}

report()
{
	name=$1
	rc=$2
	t=$3
	log=$4

	ran=$((ran + 1))
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name"
		pass=$((pass + 1))
		return
	fi
	if [ "$rc" -eq 77 ]; then
		echo "SKIP $name ($(grep -m1 '^SKIP:' "$log" | cut -c7-))"
		skipped=$((skipped + 1))
		return
	fi
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "FAIL $name ($t, killed after ${LIMIT}s)"
	else
		echo "FAIL $name ($t, exit $rc)"
	fi
	failed=$((failed + 1))
	failures="$failures $name"
	if [ "$(wc -l < "$log")" -gt 150 ]; then
		echo "    ... (full output in $log)"
		tail -n 150 "$log" | sed -e 's/^/    /'
	else
		sed -e 's/^/    /' "$log"
	fi
}

# The unit programs, as the Makefile lists them.
units=$(awk '
	/^UNIT_PROGS[ \t]*[+:]?=/ { on = 1; sub(/^[^=]*=/, "") }
	on {
		more = sub(/\\[ \t]*$/, "")
		printf "%s ", $0
		if (!more)
			on = 0
	}' Makefile)

for prog in $units; do
	name=${prog##*/}
	selected "$name" "$@" || continue
	log=$OUT/$name.log
	t0=$(now)
	if [ -x "$prog" ]; then
		timeout -k 10 "$LIMIT" "./$prog" > "$log" 2>&1 < /dev/null
		rc=$?
	else
		echo "$prog is not built (make units)" > "$log"
		rc=1
	fi
	report "$name" "$rc" "$(elapsed "$t0" "$(now)")" "$log"
done

for test in regress/t/*.sh; do
	[ -f "$test" ] || continue
	name=${test##*/}
	name=${name%.sh}
	selected "$name" "$@" || continue
	log=$OUT/$name.log
	t0=$(now)
	timeout -k 10 "$LIMIT" bash "$test" > "$log" 2>&1 < /dev/null
	rc=$?
	report "$name" "$rc" "$(elapsed "$t0" "$(now)")" "$log"
done

if [ "$ran" -eq 0 ]; then
	echo "no test matched: $*" >&2
	failed=1
fi
if [ "$failed" -ne 0 ] && [ -n "$failures" ]; then
	echo "failed:$failures"
fi
[ "$skipped" -eq 0 ] || echo "$skipped skipped"
echo "$pass passed, $failed failed" | tee "$OUT/summary"
[ "$failed" -eq 0 ]
