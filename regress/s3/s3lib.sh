# regress/s3/s3lib.sh: what the S3 tests share, sourced after
# regress/lib.sh.  A throw-away radosgw (regress/s3/ceph.sh) per test.
#
#   s3_need [command...]	skip unless Ceph (and the commands) is there
#   s3_up BUCKET [bytes]	start Ceph with that much memstore (default
#				768 MiB), export its S3_* and make BUCKET;
#				on exit s3_on_exit (if the test defines it)
#				runs, then Ceph stops, then regd_cleanup
#   s3_run_tests TEST...	run existing tests with REGD_BACKEND=s3
#				against that bucket; fails if any fails
#   s3_replicas TEST...	the replicas-* TESTs (two instances on one
#				store) on a bucket of their own

S3REQ=./regress/s3/s3req
CEPH_DIR=$T/ceph

s3_need()
{
	local b

	for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool \
	    "$@"; do
		command -v "$b" >/dev/null 2>&1 ||
		    skip "$b is not installed (sh regress/s3/deps.sh)"
	done
}

s3_stop()
{
	local rc=$?

	if declare -F s3_on_exit >/dev/null; then
		s3_on_exit
	fi
	bash regress/s3/ceph.sh stop "$CEPH_DIR"
	return "$rc"
}

s3_up()
{
	trap 's3_stop; regd_cleanup' EXIT
	CEPH_MEM_BYTES=${CEPH_MEM_BYTES:-${2:-805306368}} \
	    bash regress/s3/ceph.sh start "$CEPH_DIR" > "$T/ceph.out" 2>&1 ||
	    fail "ceph.sh start: $(tail -n 20 "$T/ceph.out")"
	. "$CEPH_DIR/env"
	S3_BUCKET=$1
	export S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION S3_BUCKET
	note "Ceph up in ${S3_START_SECONDS} s at $S3_ENDPOINT"
	STATUS=$("$S3REQ" PUT "/$S3_BUCKET" -- -s -o /dev/null \
	    -w '%{http_code}')
	check_eq "$STATUS" 200 "create bucket $S3_BUCKET"
}

s3_run_tests()
{
	local t rc failed= n=0 skipped=

	for t in "$@"; do
		[ -f "regress/t/$t.sh" ] || fail "no test $t"
		REGD_BACKEND=s3 timeout -k 10 240 bash "regress/t/$t.sh" \
		    > "$T/$t.log" 2>&1 < /dev/null
		rc=$?
		case $rc in
		0)
			n=$((n + 1))
			;;
		77)
			skipped="$skipped $t"
			;;
		*)
			failed="$failed $t"
			echo "--- $t (exit $rc)" >&2
			tail -n 15 "$T/$t.log" >&2
			;;
		esac
	done
	note "$n passed on S3${skipped:+, skipped:$skipped}"
	[ -z "$failed" ] || fail "failed on S3:$failed"
}

s3_replicas()
{
	s3_need
	s3_up replicas 1073741824
	export REGD_BACKEND=s3
	# The grace must outlast a push (regd(8)): seconds on this radosgw.
	export REPLICAS_GC_GRACE=8
	# Each S3 push is a dozen round trips to radosgw (and a pause of
	# the grace every 4 images): 3 images per client there, not 6.
	export REPLICAS_GC_IMAGES=3

	s3_run_tests "$@"
	# Every test's regd wrote under its own root, in Distribution's keys.
	"$S3REQ" GET "/$S3_BUCKET?list-type=2&delimiter=/" -- -s \
	    -o "$T/top.xml"
	grep -q '<Prefix>regress/</Prefix>' "$T/top.xml" ||
	    fail "nothing under regress/: $(head -c 600 "$T/top.xml")"
}
