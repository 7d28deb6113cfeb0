#!/bin/sh
#
# regress/fuzz/run.sh SECONDS CRASHDIR TARGET...: run each libFuzzer
# target regress/fuzz/fuzz_TARGET for SECONDS on a copy of its seed
# corpus (new inputs go to a scratch corpus, the committed seeds stay
# as they are).  A crash, leak or timeout lands in CRASHDIR as
# TARGET-crash-<sha1> and so on; copy it into regress/fuzz/corpus/TARGET
# once the bug is fixed so the regress run replays it.  Prints one line
# per target and exits 1 if any target found something.

cd "$(dirname "$0")/../.." || exit 1
secs=${1:?seconds}
crashdir=${2:?crash directory}
shift 2
mkdir -p "$crashdir" regress/fuzz/work || exit 1
# Targets may change directory (manifest does): paths must be absolute.
crashdir=$(cd "$crashdir" && pwd)

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

bad=
for t in "$@"; do
	work=regress/fuzz/work/$t
	log=regress/fuzz/work/$t.log
	mkdir -p "$work"
	./regress/fuzz/fuzz_"$t" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$crashdir/$t-" "$PWD/$work" \
	    "$PWD/regress/fuzz/corpus/$t" > "$log" 2>&1
	rc=$?
	runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "ok   $t: ${runs:-?} runs in ${secs}s, $cov," \
		    "$(ls "$work" | wc -l) corpus inputs"
	else
		echo "FAIL $t: exit $rc after ${runs:-?} runs; see $log"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 |
		    sed -e 's/^/    /'
		bad="$bad $t"
	fi
done
[ -z "$bad" ] || { echo "targets with findings:$bad"; exit 1; }
exit 0
