# Two regd on one shared store: a tag pushed (and then moved) through
# instance A is served by instance B within the documented bound, 1 s
# (regd(8), Shared storage: cached tags and listings are revalidated
# after 1 s), though B had the old answer in its caches.  By digest, B
# answers at once.  The bound is checked without timing the answer: once
# the bound (and a margin for the coarse clock) has passed since A
# acknowledged, B's next answers must be the new ones; a loaded machine
# only makes more time pass.  How soon B follows is printed (polled, a
# figure, not asserted).
. regress/lib.sh
. regress/authlib.sh
. regress/replicas.sh

BOUND_MS=1000
replica_start 1
replica_start 2

now_ms() { date +%s%3N; }

# tag_is URL REPO TAG: the digest TAG resolves to on URL.
tag_is()
{
	curl -s -o /dev/null -w '%{http_code} ' -I \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	    -D - "$1/v2/$2/manifests/$3" | tr -d '\r' |
	    awk 'tolower($1) == "docker-content-digest:" { print $2 }'
}

# wait_tag URL REPO TAG DIGEST: polls until the tag resolves to DIGEST;
# prints the milliseconds it took.
wait_tag()
{
	local t0 t got

	t0=$(now_ms)
	while :; do
		got=$(tag_is "$1" "$2" "$3")
		t=$(( $(now_ms) - t0 ))
		[ "$got" = "$4" ] && break
		[ $t -lt 10000 ] || fail "$2:$3 not $4 on $1 after 10 s ($got)"
		sleep 0.01
	done
	echo "$t"
}

# warm: B resolves v1 and lists the tags: its caches hold the old answers.
warm()
{
	http GET "${RURL[2]}/v2/lib/prop/tags/list"
	for k in 1 2 3; do
		curl -s -o /dev/null "${RURL[2]}/v2/lib/prop/manifests/v1"
	done
}

for round in 1 2 3; do
	URL=${RURL[1]}
	push_image lib/prop v1
	old=$IMG_DIGEST
	wait_tag "${RURL[2]}" lib/prop v1 "$old" >/dev/null
	# The bound: A moves v1 and adds a tag, the bound passes, B follows.
	warm
	push_image lib/prop v1
	new=$IMG_DIGEST
	http GET "${RURL[2]}/v2/lib/prop/manifests/$new" \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	check_eq "$STATUS" 200 "by digest on B at once"
	push_manifest lib/prop "r$round" "$IMG_MANIFEST" \
	    application/vnd.oci.image.manifest.v1+json
	sleep "$(( BOUND_MS + 100 ))e-3"
	check_eq "$(tag_is "${RURL[2]}" lib/prop v1)" "$new" \
	    "round $round: v1 on B, $BOUND_MS ms after A moved it"
	curl -s "${RURL[2]}/v2/lib/prop/tags/list" |
	    jq -e --arg t "r$round" '.tags | index($t)' >/dev/null ||
	    fail "round $round: tag r$round not listed by B $BOUND_MS ms after A added it"
	# The figure: the same again, B polled until it follows.
	push_image lib/prop v1
	old=$IMG_DIGEST
	wait_tag "${RURL[2]}" lib/prop v1 "$old" >/dev/null
	warm
	push_image lib/prop v1
	d=$(wait_tag "${RURL[2]}" lib/prop v1 "$IMG_DIGEST")
	note "round $round: B followed within the bound; polled, it followed a move after $d ms"
done
exit 0
