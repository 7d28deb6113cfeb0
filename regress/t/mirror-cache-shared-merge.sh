#!/bin/bash
# Two regd on one shared store ("storage shared yes") mirroring one
# upstream share the cache index note: instance 1 pulls a, instance 2
# pulls b, both stop (1 first): the note counts a and b, where the
# second writer used to overwrite the first.  Then instance 2 (cache
# size of two images) pulls c and evicts a; both stop (2 first): the
# merge of instance 1, which still had a, does not bring a back (2 left
# a tombstone), so instance 1 started alone counts what instance 2
# counted, b and c.  Instance 1 has no cache size: it never evicts.
. regress/lib.sh
. regress/mirrorlib.sh

[ "${REGD_BACKEND:-fs}" = fs ] || skip "two instances on one directory"
mkdir -p "$T/up" "$T/storage"
dreg_start "$T/up"
declare -A dg
for i in a b c; do
	make_blob 10000 "$T/layer.$i"
	up_image "lib/$i" 1 "$T/layer.$i"
	dg[$i]=$UP_DIGEST
done
[ "$REGD_ROOT" -eq 1 ] && chown -R _regd "$T/storage"

declare -a IPID IURL
PORT1=$(free_port)
PORT2=$(free_port)
inst_start()	# inst_start I
{
	local d=$T/r$1 port size= n=100

	port=$([ "$1" = 1 ] && echo "$PORT1" || echo "$PORT2")
	[ "$1" = 2 ] && size='	cache size 25000'
	mkdir -p "$d"
	cat > "$d/regd.conf" <<EOC
storage "$T/storage"
storage shared yes
socket "$d/regd.sock"
prefork 1
upstream "up" {
	url "$DREG_URL"
$size
}
server "r$1" {
	listen on 127.0.0.1 port $port
	mirror "up" prefix "hub"
}
EOC
	"$REGD" -d -f "$d/regd.conf" >> "$d/regd.log" 2>&1 &
	IPID[$1]=$!
	IURL[$1]=http://127.0.0.1:$port
	until curl -sf -o /dev/null --max-time 2 "${IURL[$1]}/v2/"; do
		alive "${IPID[$1]}" || fail "instance $1: $(cat "$d/regd.log")"
		n=$((n - 1))
		[ $n -gt 0 ] || fail "instance $1 does not answer"
		sleep 0.1
	done
}
inst_stop()
{
	kill -TERM "${IPID[$1]}"
	wait "${IPID[$1]}"
	IPID[$1]=
}
inst_cleanup()
{
	local rc=$? p

	for p in "${IPID[@]}"; do
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null && wait "$p"
	done
	(exit "$rc")
	dreg_cleanup
}
trap inst_cleanup EXIT
pull()	# pull I IMAGE
{
	local d

	http GET "${IURL[$1]}/v2/hub/lib/$2/manifests/1" \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	check_eq "$STATUS" 200 "pull $2 from $1: manifest"
	for d in $(jq -r '.config.digest, .layers[].digest' < "$BODY"); do
		curl -sf -o /dev/null "${IURL[$1]}/v2/hub/lib/$2/blobs/$d" ||
		    fail "pull $2 from $1: blob $d"
	done
}
col()	# col I COLUMN of regctl show mirror
{
	$REGCTL_BIN -s "$T/r$1/regd.sock" show mirror |
	    awk -v c="$2" '$1 == "up" { print $c }'
}
evicted()
{
	[ "$(col 2 10)" = 1 ]
}
alone()	# what instance 1 alone, just started, counts
{
	inst_start 1
	col 1 8
	inst_stop 1
}

inst_start 1
inst_start 2
pull 1 a
one=$(col 1 8)
pull 2 b
two=$(col 2 8)
inst_stop 1
inst_stop 2
check_eq "$(alone)" $((one + two)) "cache size of a and b, merged"

inst_start 1
inst_start 2
pull 2 c
wait_for "instance 2 did not evict: $(col 2 10)" evicted
grep -q "evicted hub/lib/a@${dg[a]}" "$T/r2/regd.log" ||
    fail "instance 2 evicted something else than a"
bc=$(col 2 8)
inst_stop 2
inst_stop 1
check_eq "$(alone)" "$bc" "cache size of b and c, a evicted on 2"
