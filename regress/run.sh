#!/bin/sh
#
# regress/run.sh [glob...]: run the unit programs named in the Makefile's
# UNIT_PROGS and every regress/t/*.sh, or only those whose name matches one
# of the globs (names are "test_msg", "http-v2-base", ...).  Prints one
# PASS/FAIL line per test with its time, the output of failed tests
# indented, and last "N passed, N failed".  Exits 1 if anything failed.
# A test that exits 77 could not run here (say, it needs root): it is
# listed as SKIP and counted in neither number.
#
# REGRESS_JOBS tests run at once (default 2).  Each test has its own
# directory, free ports and processes, so most can share the machine; a
# test whose property depends on having the machine to itself (a
# throughput or memory figure, thousands of connections, a whole Ceph)
# says so with a line "# regress: alone" and runs after the others, one
# at a time.  A test marked "# regress: long N" (N: its seconds on a
# quiet 2-core machine) starts before the others, longest first, so that
# it does not run alone at the end; it may take twice REGRESS_TIMEOUT
# (default 300 s) before it is killed.  REGRESS_JOBS=1 runs everything one
# after the other, in name order.

cd "$(dirname "$0")/.." || exit 1

LIMIT=${REGRESS_TIMEOUT:-300}
JOBS=${REGRESS_JOBS:-2}
OUT=regress/out
export OUT
mkdir -p "$OUT"
rm -f "$OUT"/*.rc "$OUT"/.lock

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

# The unit programs, as the Makefile lists them.
units=$(awk '
	/^UNIT_PROGS[ \t]*[+:]?=/ { on = 1; sub(/^[^=]*=/, "") }
	on {
		more = sub(/\\[ \t]*$/, "")
		printf "%s ", $0
		if (!more)
			on = 0
	}' Makefile)

# Two lists of "name path seconds" lines: those that may share the machine,
# and those that run alone.
shared=$OUT/.shared
alone=$OUT/.alone
long=$OUT/.long
: > "$shared"
: > "$alone"
: > "$long"
for prog in $units; do
	name=${prog##*/}
	selected "$name" "$@" || continue
	echo "$name $prog $LIMIT" >> "$shared"
done
for test in regress/t/*.sh; do
	[ -f "$test" ] || continue
	name=${test##*/}
	name=${name%.sh}
	selected "$name" "$@" || continue
	if grep -q '^# regress: alone' "$test"; then
		echo "$name $test $LIMIT" >> "$alone"
	elif grep -q '^# regress: long' "$test"; then
		echo "$(sed -n 's/^# regress: long \([0-9]*\).*/\1/p' \
		    "$test" | head -n 1) $name $test $((LIMIT * 2))" >> "$long"
	else
		echo "$name $test $LIMIT" >> "$shared"
	fi
done

if [ "$JOBS" -le 1 ]; then
	cut -d' ' -f2- "$long" | sort - "$shared" "$alone" > "$shared.new"
	: > "$alone"
else
	sort -rn "$long" | cut -d' ' -f2- | cat - "$shared" > "$shared.new"
fi
mv "$shared.new" "$shared"
xargs -r -L 1 -P "$JOBS" sh regress/run1.sh < "$shared"
xargs -r -L 1 -P 1 sh regress/run1.sh < "$alone"

pass=0
failed=0
skipped=0
ran=0
failures=
for rc in $(cat "$shared" "$alone" | cut -d' ' -f1 | sort); do
	ran=$((ran + 1))
	if [ ! -f "$OUT/$rc.rc" ]; then
		failed=$((failed + 1))
		failures="$failures $rc"
		continue
	fi
	case $(cat "$OUT/$rc.rc") in
	0)
		pass=$((pass + 1))
		;;
	77)
		skipped=$((skipped + 1))
		;;
	*)
		failed=$((failed + 1))
		failures="$failures $rc"
		;;
	esac
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
