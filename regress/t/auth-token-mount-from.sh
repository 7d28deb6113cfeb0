# Bearer tokens: a mount needs pull rights on its source as the token
# grants them.  A token with push on bob/x only mounts nothing from
# private/img, named in "from" or not (202, an ordinary upload, and the
# blob stays out of bob/x); a token that also grants pull on public/lib
# mounts from there (201).
. regress/lib.sh
. regress/authlib.sh

token_start
hdr_json='{"alg":"RS256","typ":"JWT"}'
acc='[{"type":"repository","name":"private/img","actions":["pull","push"]},{"type":"repository","name":"public/lib","actions":["pull","push"]}]'
as_token "$(token "$hdr_json" "$(token_claims alice "$acc")")"
push_image private/img v1
priv_layer=$IMG_LAYER
priv_manifest=$IMG_DIGEST
push_image public/lib v1
pub_layer=$IMG_LAYER

acc='[{"type":"repository","name":"bob/x","actions":["pull","push"]}]'
as_token "$(token "$hdr_json" "$(token_claims bob "$acc")")"
for q in "mount=$priv_layer&from=private/img" "mount=$priv_layer" \
    "mount=$priv_manifest" "mount=$pub_layer&from=public/lib" \
    "mount=$pub_layer"; do
	d=${q%%&*}
	d=${d#mount=}
	http POST "$URL/v2/bob/x/blobs/uploads/?$q" -H 'Content-Length: 0'
	check_eq "$STATUS" 202 "token without pull on the source: $q"
	[ -n "$(hdr Location)" ] || fail "$q: no Location"
	http GET "$URL/v2/bob/x/blobs/$d"
	expect_error 404 BLOB_UNKNOWN
done

acc='[{"type":"repository","name":"bob/x","actions":["pull","push"]},{"type":"repository","name":"public/lib","actions":["pull"]}]'
as_token "$(token "$hdr_json" "$(token_claims bob "$acc")")"
http POST "$URL/v2/bob/x/blobs/uploads/?mount=$pub_layer&from=public/lib" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 201 "mount from public/lib with pull on it"
http GET "$URL/v2/bob/x/blobs/$pub_layer"
check_eq "$STATUS" 200 "the mounted layer"
http POST "$URL/v2/bob/x/blobs/uploads/?mount=$priv_layer&from=private/img" \
    -H 'Content-Length: 0'
check_eq "$STATUS" 202 "still nothing from private/img"
regd_stop
