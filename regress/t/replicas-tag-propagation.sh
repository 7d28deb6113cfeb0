# Two regd on one shared store: a tag pushed (and then moved) through
# instance A is served by instance B within the documented bound, 1 s
# (regd(8), Shared storage: cached tags and listings are revalidated
# after 1 s), though B had the old answer in its caches.  The measured
# delays are printed.  By digest, B answers at once.
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh

BOUND_MS=1000
replica_start 1
replica_start 2

now_ms() { date +%s%3N; }

# wait_tag URL REPO TAG DIGEST: polls until the tag resolves to DIGEST;
# prints the milliseconds it took.
wait_tag()
{
	local t0 t got

	t0=$(now_ms)
	while :; do
		got=$(curl -s -o /dev/null -w '%{http_code} ' -I \
		    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		    -D - "$1/v2/$2/manifests/$3" | tr -d '\r' |
		    awk 'tolower($1) == "docker-content-digest:" { print $2 }')
		t=$(( $(now_ms) - t0 ))
		[ "$got" = "$4" ] && break
		[ $t -lt 10000 ] || fail "$2:$3 not $4 on $1 after 10 s ($got)"
		sleep 0.01
	done
	echo "$t"
}

worst=0
for round in 1 2 3 4 5; do
	# B resolves the tag and lists the tags first: its caches are warm.
	URL=${RURL[1]}
	push_image lib/prop v1
	old=$IMG_DIGEST
	wait_tag "${RURL[2]}" lib/prop v1 "$old" >/dev/null
	http GET "${RURL[2]}/v2/lib/prop/tags/list"
	for k in 1 2 3; do
		curl -s -o /dev/null "${RURL[2]}/v2/lib/prop/manifests/v1"
	done
	# A moves v1 and adds a tag; B must follow within the bound.
	push_image lib/prop v1
	new=$IMG_DIGEST
	t0=$(now_ms)
	http GET "${RURL[2]}/v2/lib/prop/manifests/$new" \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	check_eq "$STATUS" 200 "by digest on B at once"
	push_manifest lib/prop "r$round" "$IMG_MANIFEST" \
	    application/vnd.oci.image.manifest.v1+json
	d=$(wait_tag "${RURL[2]}" lib/prop v1 "$new")
	t=0
	while ! curl -s "${RURL[2]}/v2/lib/prop/tags/list" |
	    jq -e --arg t "r$round" '.tags | index($t)' >/dev/null; do
		t=$(( $(now_ms) - t0 ))
		[ $t -lt 10000 ] || fail "tag r$round not listed by B"
		sleep 0.01
	done
	t=$(( $(now_ms) - t0 ))
	note "round $round: moved tag on B after $d ms, new tag listed after $t ms"
	[ "$d" -gt "$worst" ] && worst=$d
	[ "$t" -gt "$worst" ] && worst=$t
done
note "worst propagation delay $worst ms (bound $BOUND_MS ms)"
# Margin for the polling itself (curl, jq) on a loaded machine.
[ "$worst" -le $((BOUND_MS + 500)) ] ||
    fail "propagation took $worst ms, over the bound of $BOUND_MS ms"
exit 0
